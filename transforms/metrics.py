"""Pipeline health metrics (spec: metrics.md), computed from canonical frames as of T.

`compute_metrics` runs every metric family for each motion (new business, retention) and
scope (all, source, owner, pipeline, lead_channel where the spec says so) and returns a
`MetricsResult` that renders the `pipeline_metrics` rows and the `metrics --json` object.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from transforms.fiscal import require_utc_instant
from transforms.metrics_config import MetricsConfig
from transforms.metrics_forecast import forecast_accuracy, prepare_snapshots
from transforms.metrics_grouped import (
    grouped_conversion,
    grouped_counts,
    grouped_forecast,
    grouped_outcomes,
    grouped_stale,
    grouped_time_in_stage,
    grouping,
    open_counts,
    stay_positions,
)
from transforms.metrics_inputs import prepare_deals, prepare_stays, require_columns
from transforms.metrics_quota import TEAM, prepare_quotas, quota_metrics
from transforms.metrics_result import MetricsResult, ScopeFigures
from transforms.metrics_stage_flow import bottleneck, entry_and_highest, stay_ages
from transforms.metrics_stale import prepare_flags

__all__ = ["MetricsConfig", "MetricsResult", "compute_metrics"]

STAGES_BY_MOTION: dict[str, tuple[int, ...]] = {
    "new_business": (1, 2, 3, 4, 5, 6),
    "retention": (7,),
}
# scope -> deals column that keys it
SCOPE_COLUMNS: dict[str, str] = {
    "source": "source",
    "owner": "owner_email",
    "pipeline": "pipeline_key",
    "lead_channel": "lead_channel",
}
# the prepared columns the metric families read: fewer columns make each scope's slices cheap
WORK_COLUMNS: tuple[str, ...] = (
    "deal_key",
    "source",
    "pipeline_key",
    "owner_email",
    "lead_channel",
    "motion",
    "status",
    "stage_number",
    "forecast_category",
    "created_at",
    "closed_at",
    "stage_entered_at",
    "close_day",
    "amount",
    "weighted",
)
LEAD_CHANNEL_METRICS: tuple[str, ...] = ("avg_sales_cycle_days", "median_sales_cycle_days")


def _scopes_figures(
    deals: pd.DataFrame,
    stays: pd.DataFrame,
    *,
    flags: pd.DataFrame | None,
    scope: str,
    positions: np.ndarray | None = None,
    stages: tuple[int, ...],
    as_of: pd.Timestamp,
    config: MetricsConfig,
) -> list[tuple[str, ScopeFigures]]:
    """Every metric each group of one scope has (scope all: one group keyed '')."""
    g = grouping(deals, stays, SCOPE_COLUMNS.get(scope), positions=positions)
    if scope == "lead_channel":  # the sales cycle only
        outcomes = grouped_outcomes(
            deals,
            g,
            as_of=as_of,
            window_days=config.rate_window_days,
            open_counts=open_counts(deals, g),
        )
        return [
            (key, ScopeFigures(values={m: found[0][m] for m in LEAD_CHANNEL_METRICS}))
            for key, found in zip(g.keys, outcomes, strict=True)
        ]
    counts = grouped_counts(deals, g, stages=stages, per_owner=scope != "owner")
    outcomes = grouped_outcomes(
        deals,
        g,
        as_of=as_of,
        window_days=config.rate_window_days,
        open_counts=[values["open_deals"] for values, _ in counts],
    )
    conversion = grouped_conversion(deals, g, as_of=as_of, cohort_days=config.cohort_days)
    times = grouped_time_in_stage(
        deals, stays, g, as_of=as_of, window_days=config.time_in_stage_days, stages=stages
    )
    forecast = grouped_forecast(deals, g, as_of=as_of, config=config)
    stale = None if flags is None else grouped_stale(flags, deals, g)
    out = []
    for index, key in enumerate(g.keys):
        values: dict[str, Any] = {}
        excluded: dict[str, int] = {}
        for part_values, part_excluded in (counts[index], outcomes[index]):
            values.update(part_values)
            excluded.update(part_excluded)
        values["stage_conversion"] = conversion[index]
        values["time_in_stage"] = times[index]
        values["bottleneck"] = bottleneck(times[index])
        values["forecast_by_month"], excluded["forecast_by_month"] = forecast[index]
        if stale is None:
            values["stale_deals"] = None
        else:
            values["stale_deals"], excluded["stale_deals"] = stale[index]
        out.append((key, ScopeFigures(values=values, excluded=excluded)))
    return out


def _with_stage_columns(
    deals: pd.DataFrame, stays: pd.DataFrame, *, as_of: pd.Timestamp
) -> pd.DataFrame:
    """Deals with entry/highest stage and current stage age, computed once for every scope."""
    flow = entry_and_highest(deals, stays)
    out = deals.copy()
    out["entry_stage"] = flow["entry_stage"]
    out["highest_stage"] = flow["highest_stage"]
    out["stage_age_days"] = stay_ages(deals, stays, as_of=as_of)
    for column in (
        "deal_key",
        "source",
        "pipeline_key",
        "owner_email",
        "lead_channel",
        "motion",
        "status",
        "forecast_category",
    ):
        out[column] = out[column].astype(object).where(out[column].notna(), None)
    return out


def _rates(figures: ScopeFigures) -> dict[str, Any]:
    return {
        name: figures.values.get(name) for name in ("win_rate", "win_rate_amount", "avg_deal_size")
    }


def compute_metrics(
    *,
    deals: pd.DataFrame | None,
    stays: pd.DataFrame | None,
    snapshots: pd.DataFrame | None,
    quotas: pd.DataFrame | None,
    flags: pd.DataFrame | None,
    as_of: pd.Timestamp,
    config: MetricsConfig | None = None,
) -> MetricsResult:
    """Every metric of metrics.md as of T, for both motions and every scope."""
    config = config or MetricsConfig()
    as_of = require_utc_instant(as_of)
    if deals is not None:
        require_columns(deals, ["deal_key", "is_deleted"], name="deals")
        deleted_mask = deals["is_deleted"].astype(object).where(deals["is_deleted"].notna(), False)
        deleted_keys = set(deals.loc[deleted_mask.astype(bool), "deal_key"])
    else:
        deleted_keys = set()
    prepared = prepare_deals(deals)[list(WORK_COLUMNS)]
    all_stays = prepare_stays(stays, prepared)
    prepared = _with_stage_columns(prepared, all_stays, as_of=as_of)
    # per scope only completed stays (time_in_stage) matter once entry/highest/ages are known
    all_stays = all_stays.loc[
        all_stays["exited_at"].notna(),
        ["deal_key", "stage_number", "entered_at", "exited_at", "duration_days", "motion"],
    ]
    prepared_flags = prepare_flags(flags)
    prepared_snapshots = prepare_snapshots(snapshots)
    prepared_quotas = prepare_quotas(quotas)
    figures: dict[tuple[str, str, str], ScopeFigures] = {}
    for motion, stages in STAGES_BY_MOTION.items():
        motion_deals = prepared[prepared["motion"] == motion]
        motion_stays = all_stays[all_stays["motion"] == motion]
        compute = partial(
            _scopes_figures,
            motion_deals,
            motion_stays,
            flags=prepared_flags,
            positions=stay_positions(motion_deals, motion_stays),
            stages=stages,
            as_of=as_of,
            config=config,
        )
        everyone = compute(scope="all")[0][1]
        accuracy, accuracy_excluded = forecast_accuracy(
            prepared_snapshots,
            prepared,
            deleted_keys=deleted_keys,
            motion=motion,
            as_of=as_of,
            config=config,
        )
        everyone.values["forecast_accuracy"] = accuracy
        everyone.excluded["forecast_accuracy"] = accuracy_excluded
        figures[(motion, "all", "")] = everyone
        for scope in SCOPE_COLUMNS:
            for key, found in compute(scope=scope):
                figures[(motion, scope, key)] = found
        rates = {
            key: _rates(f)
            for (m, scope, key), f in figures.items()
            if m == motion and scope == "owner"
        }
        rates[TEAM] = _rates(everyone)
        per_owner = quota_metrics(
            prepared_quotas,
            motion_deals,
            motion=motion,
            as_of=as_of,
            tz=config.reporting_tz,
            rates_by_owner=rates,
        )
        for key, (values, excluded) in per_owner.items():
            target = (
                figures[(motion, "all", "")]
                if key == TEAM
                else figures.setdefault((motion, "owner", key), ScopeFigures())
            )
            target.values.update(values)
            target.excluded.update(excluded)
    return MetricsResult(as_of=as_of, figures=figures)
