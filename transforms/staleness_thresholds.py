"""Staleness settings, and the stuck_in_stage thresholds learned per (source, stage).

A threshold is the configured days for that (source, stage) or stage; else, when the source
has at least `min_stays` completed stays in the stage that ended in the last
`learning_window_days`, max(`min_days`, p90 of their durations) in whole days (rounded down);
else `default_days` (stale-deals.md).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from transforms.fiscal import require_utc_instant
from transforms.metrics_inputs import prepare_deals, prepare_stays

RULES: tuple[str, ...] = ("stuck_in_stage", "no_activity", "past_close_date")
THRESHOLD_COLUMNS: tuple[str, ...] = (
    "source",
    "stage_number",
    "threshold_days",
    "basis",
    "stays_count",
)


@dataclass(frozen=True)
class StalenessConfig:
    """Which rules run, their day limits, and which deals, owners and pipelines are exempt.

    `exclude_pipelines` entries are "source:pipeline", or a bare pipeline id that matches that
    pipeline in every source. Owner emails compare case-insensitively.
    """

    stuck_in_stage: bool = True
    no_activity: bool = True
    past_close_date: bool = True
    stage_days: Mapping[int, int] = field(default_factory=dict)
    source_stage_days: Mapping[tuple[str, int], int] = field(default_factory=dict)
    default_days: int = 30
    min_days: int = 14
    min_stays: int = 20
    percentile: float = 0.9
    learning_window_days: int = 365
    no_activity_days: int = 30
    past_close_days: int = 7
    exclude_deal_keys: frozenset[str] = frozenset()
    exclude_owner_emails: frozenset[str] = frozenset()
    exclude_pipelines: frozenset[str] = frozenset()
    reporting_tz: str = "UTC"  # whose calendar day "today" is, for past_close_date
    flag_write_tolerance_seconds: int = 300  # a modification this soon after our write is ours

    def __post_init__(self) -> None:
        for name in (
            "default_days",
            "min_days",
            "min_stays",
            "learning_window_days",
            "no_activity_days",
            "past_close_days",
            "flag_write_tolerance_seconds",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)!r}")
        if not 0 < self.percentile <= 1:
            raise ValueError(f"percentile must be in (0, 1], got {self.percentile!r}")
        for key, days in [*self.stage_days.items(), *self.source_stage_days.items()]:
            if days < 0:
                raise ValueError(f"configured stuck_in_stage days for {key!r} must not be negative")
        try:
            ZoneInfo(self.reporting_tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown reporting_tz {self.reporting_tz!r}") from exc

    def configured_days(self, source: str, stage: int) -> int | None:
        """The configured threshold for (source, stage), else for the stage, else None."""
        if (source, stage) in self.source_stage_days:
            return int(self.source_stage_days[(source, stage)])
        if stage in self.stage_days:
            return int(self.stage_days[stage])
        return None


def learn_thresholds(
    stays: pd.DataFrame | None,
    deals: pd.DataFrame | None,
    *,
    as_of: pd.Timestamp,
    config: StalenessConfig,
) -> pd.DataFrame:
    """Threshold per (source, stage), its basis (configured, p90, default) and stays count."""
    as_of = require_utc_instant(as_of)
    prepared = prepare_deals(deals)
    history = prepare_stays(stays, prepared)
    exited = history["exited_at"]
    start = as_of - dt.timedelta(days=config.learning_window_days)
    ended = ((exited >= start) & (exited < as_of)).fillna(False)
    completed = history[ended & history["duration_days"].notna() & history["stage_number"].notna()]
    durations = {
        (str(source), int(stage)): group["duration_days"].astype(float)
        for (source, stage), group in completed.groupby(["source", "stage_number"], sort=False)
    }
    pairs = set(durations)
    with_stage = prepared[prepared["stage_number"].notna()]
    pairs |= {
        (str(s), int(n))
        for s, n in zip(with_stage["source"], with_stage["stage_number"], strict=True)
    }
    pairs |= {(str(s), int(n)) for s, n in config.source_stage_days}
    rows = []
    for source, stage in sorted(pairs):
        values = durations.get((source, stage), pd.Series(dtype=float))
        configured = config.configured_days(source, stage)
        if configured is not None:
            threshold, basis = configured, "configured"
        elif len(values) >= max(config.min_stays, 1):
            learned = math.floor(float(values.quantile(config.percentile)))
            threshold, basis = max(config.min_days, learned), "p90"
        else:
            threshold, basis = config.default_days, "default"
        rows.append((source, stage, threshold, basis, len(values)))
    frame = pd.DataFrame(rows, columns=list(THRESHOLD_COLUMNS))
    frame["stage_number"] = frame["stage_number"].astype("int64")
    frame["threshold_days"] = frame["threshold_days"].astype("int64")
    frame["stays_count"] = frame["stays_count"].astype("int64")
    return frame
