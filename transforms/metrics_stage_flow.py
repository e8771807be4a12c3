"""Stage flow from stage history: stage_conversion, time_in_stage, bottleneck."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from transforms.metrics_inputs import days_between

WON_STAGE = 6  # a won new-business deal counts as having reached Closing
CONVERSION_STEPS: tuple[int, ...] = (1, 2, 3, 4, 5)


def lookup(keys: pd.Series, table: pd.Series) -> pd.Series:
    """table[key] for each key (missing where absent), safe on empty inputs of any dtype."""
    return pd.Series(table.reindex(keys.to_numpy()).to_numpy(), index=keys.index, dtype=table.dtype)


def entry_and_highest(deals: pd.DataFrame, stays: pd.DataFrame) -> pd.DataFrame:
    """Per deal: entry stage (stage of its first stay) and highest stage it ever had.

    A won new-business deal has reached 6. Without stays, the deal's own stage stands for both
    (a deal created closed-won enters at 6 and so joins no cohort).
    """
    ordered = stays.dropna(subset=["stage_number"]).sort_values(["deal_key", "entered_at"])
    first = ordered.groupby("deal_key", sort=False)["stage_number"].first()
    highest_stay = ordered.groupby("deal_key", sort=False)["stage_number"].max()
    frame = deals[["deal_key", "status", "motion", "stage_number", "created_at"]].copy()
    own = frame["stage_number"].astype("Float64")
    entry = lookup(frame["deal_key"], first).astype("Float64")
    frame["entry_stage"] = entry.fillna(own)
    highest = pd.concat(
        [lookup(frame["deal_key"], highest_stay).astype("Float64"), own], axis=1
    ).max(axis=1, skipna=True)
    won_nb = (frame["status"] == "won") & (frame["motion"] == "new_business")
    frame["highest_stage"] = highest.where(~won_nb, highest.clip(lower=WON_STAGE).fillna(WON_STAGE))
    return frame


def stage_conversion(
    deals: pd.DataFrame, stays: pd.DataFrame, *, as_of: pd.Timestamp, cohort_days: int
) -> dict[str, float | None]:
    """Conversion k -> k+1 (k = 1..5) over deals created in [T - cohort_days, T).

    Uses `entry_stage` / `highest_stage` columns when the caller computed them already.
    """
    created = deals["created_at"]
    in_cohort = ((created >= as_of - dt.timedelta(days=cohort_days)) & (created < as_of)).fillna(
        False
    )
    cohort_deals = deals[in_cohort]
    if "entry_stage" in cohort_deals.columns and "highest_stage" in cohort_deals.columns:
        flow = cohort_deals
    else:
        flow = entry_and_highest(cohort_deals, stays)
    entry = flow["entry_stage"].to_numpy(dtype=float, na_value=np.nan)
    highest = flow["highest_stage"].to_numpy(dtype=float, na_value=np.nan)
    closed = flow["status"].isin(["won", "lost"]).to_numpy(dtype=bool)
    out: dict[str, float | None] = {}
    for k in CONVERSION_STEPS:
        cohort = (entry <= k) & (highest >= k)
        passed = int((cohort & (highest >= k + 1)).sum())
        lost_here = int((cohort & (highest == k) & closed).sum())
        out[f"{k}->{k + 1}"] = passed / (passed + lost_here) if passed + lost_here else None
    return out


def _quantile(values: np.ndarray, q: float) -> float | None:
    return float(np.quantile(values, q, method="linear")) if len(values) else None


def stay_ages(deals: pd.DataFrame, stays: pd.DataFrame, *, as_of: pd.Timestamp) -> pd.Series:
    """Days each deal has spent in its current stage as of T (stage_entered_at, else open stay)."""
    open_stays = stays[stays["exited_at"].isna()].sort_values("entered_at")
    stay_start = open_stays.groupby("deal_key", sort=False)["entered_at"].last()
    start = deals["stage_entered_at"].fillna(lookup(deals["deal_key"], stay_start))
    return days_between(pd.Series(as_of, index=deals.index), start)


def time_in_stage(
    deals: pd.DataFrame,
    stays: pd.DataFrame,
    *,
    as_of: pd.Timestamp,
    window_days: int,
    stages: Sequence[int],
) -> dict[str, dict[str, Any]]:
    """Per stage: median and p90 of completed stays ended in [T - n, T), open deals' median age.

    Uses a `stage_age_days` column (see `stay_ages`) when the caller computed it already.
    """
    exited = stays["exited_at"]
    ended = ((exited >= as_of - dt.timedelta(days=window_days)) & (exited < as_of)).fillna(False)
    completed = stays[ended & stays["duration_days"].notna()]
    stay_stage = completed["stage_number"].to_numpy(dtype=float, na_value=np.nan)
    durations = completed["duration_days"].to_numpy(dtype=float)
    open_deals = deals[deals["status"] == "open"]
    if "stage_age_days" in open_deals.columns:
        ages_series = open_deals["stage_age_days"]
    else:
        ages_series = stay_ages(open_deals, stays, as_of=as_of)
    ages = ages_series.to_numpy(dtype=float, na_value=np.nan)
    open_stage = open_deals["stage_number"].to_numpy(dtype=float, na_value=np.nan)
    out: dict[str, dict[str, Any]] = {}
    for stage in stages:
        chosen = durations[stay_stage == stage]
        current = ages[(open_stage == stage) & ~np.isnan(ages)]
        out[str(stage)] = {
            "median": _quantile(chosen, 0.5),
            "p90": _quantile(chosen, 0.9),
            "current_age_median": _quantile(current, 0.5),
            "stays": len(chosen),
        }
    return out


def bottleneck(times: dict[str, dict[str, Any]]) -> int | None:
    """The stage with the largest median time in stage; the earlier stage on a tie."""
    best: tuple[float, int] | None = None
    for stage, figures in times.items():
        median = figures["median"]
        if median is None:
            continue
        if best is None or median > best[0] or (median == best[0] and int(stage) < best[1]):
            best = (median, int(stage))
    return None if best is None else best[1]
