"""Pipeline health metrics (spec: metrics.md), computed from canonical frames as of T.

`compute_metrics` runs every metric family for each motion (new business, retention) and
scope (all, source, owner, pipeline, lead_channel where the spec says so) and returns a
`MetricsResult` that renders the `pipeline_metrics` rows and the `metrics --json` object.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from transforms.fiscal import require_utc_instant
from transforms.metrics_config import MetricsConfig
from transforms.metrics_counts import count_metrics
from transforms.metrics_forecast import forecast_accuracy, forecast_by_month, prepare_snapshots
from transforms.metrics_inputs import prepare_deals, prepare_stays, require_columns
from transforms.metrics_outcomes import outcome_metrics
from transforms.metrics_quota import TEAM, prepare_quotas, quota_metrics
from transforms.metrics_result import MetricsResult, ScopeFigures
from transforms.metrics_stage_flow import (
    bottleneck,
    entry_and_highest,
    stage_conversion,
    stay_ages,
    time_in_stage,
)
from transforms.metrics_stale import prepare_flags, stale_metrics

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


def _scope_figures(
    deals: pd.DataFrame,
    stays: pd.DataFrame,
    *,
    flags: pd.DataFrame | None,
    scope: str,
    stages: tuple[int, ...],
    as_of: pd.Timestamp,
    config: MetricsConfig,
) -> ScopeFigures:
    """Every metric one scope has, over the deals and stays of that scope."""
    values: dict[str, Any] = {}
    excluded: dict[str, int] = {}
    counts, counts_excluded = count_metrics(deals, stages=stages, per_owner=scope != "owner")
    outcomes, outcomes_excluded = outcome_metrics(
        deals,
        as_of=as_of,
        window_days=config.rate_window_days,
        open_deals=counts["open_deals"],
    )
    if scope == "lead_channel":
        return ScopeFigures(values={m: outcomes[m] for m in LEAD_CHANNEL_METRICS})
    values.update(counts)
    excluded.update(counts_excluded)
    values.update(outcomes)
    excluded.update(outcomes_excluded)
    values["stage_conversion"] = stage_conversion(
        deals, stays, as_of=as_of, cohort_days=config.cohort_days
    )
    times = time_in_stage(
        deals, stays, as_of=as_of, window_days=config.time_in_stage_days, stages=stages
    )
    values["time_in_stage"] = times
    values["bottleneck"] = bottleneck(times)
    forecast, forecast_excluded = forecast_by_month(deals, as_of=as_of, config=config)
    values["forecast_by_month"] = forecast
    excluded["forecast_by_month"] = forecast_excluded
    if flags is None:
        values["stale_deals"] = None
    else:
        values["stale_deals"], excluded["stale_deals"] = stale_metrics(flags, deals)
    return ScopeFigures(values=values, excluded=excluded)


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


def _groups(frame: pd.DataFrame, column: str) -> list[tuple[str, pd.DataFrame]]:
    keys = frame[column]
    present = frame[keys.notna()]
    return [(str(k), g) for k, g in present.groupby(present[column].astype(str), sort=True)]


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
        compute: Callable[..., ScopeFigures] = lambda d, s, scope, st=stages: _scope_figures(  # noqa: E731
            d, s, flags=prepared_flags, scope=scope, stages=st, as_of=as_of, config=config
        )
        everyone = compute(motion_deals, motion_stays, "all")
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
        for scope, column in SCOPE_COLUMNS.items():
            for key, group in _groups(motion_deals, column):
                group_stays = motion_stays[motion_stays["deal_key"].isin(group["deal_key"])]
                figures[(motion, scope, key)] = compute(group, group_stays, scope)
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
