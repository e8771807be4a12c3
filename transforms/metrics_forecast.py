"""Forecast: open amounts by month of close_date, and how past months' forecasts turned out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from transforms.fiscal import (
    add_months,
    day_start,
    fiscal_quarter_label,
    local_date,
    month_first_day,
    month_key,
    month_last_day,
)
from transforms.metrics_config import MetricsConfig
from transforms.metrics_counts import amount_total, bucket_totals, empty_bucket, unconverted
from transforms.metrics_inputs import calendar_dates, decimal_values, require_columns
from transforms.metrics_money import ratio
from transforms.metrics_stage_flow import lookup

OVERDUE = "overdue"
NO_CLOSE_DATE = "no_close_date"
SNAPSHOT_REQUIRED: tuple[str, ...] = (
    "snapshot_date",
    "deal_key",
    "status",
    "amount_reporting",
    "close_date",
)
OUTCOMES: tuple[str, ...] = ("won", "slipped", "lost", "deleted")


def forecast_by_month(
    deals: pd.DataFrame, *, as_of: pd.Timestamp, config: MetricsConfig
) -> tuple[dict[str, Any], int]:
    """Open amount, weighted and commit amount per close month from T's month on, + overdue."""
    open_deals = deals[deals["status"] == "open"]
    today = local_date(as_of, config.reporting_tz)
    first_month = month_first_day(today)
    days = open_deals["close_day"]
    buckets = days.map(
        lambda d: NO_CLOSE_DATE if d is None else (OVERDUE if d < today else month_key(d))
    )
    totals = bucket_totals(buckets.tolist(), open_deals, commit=True)
    empty = empty_bucket(commit=True)
    out: dict[str, Any] = {}
    future = [d for d in days if d is not None and d >= today]
    if future:
        month = first_month
        last = month_first_day(max(future))
        while month <= last:
            bucket = dict(totals.get(month_key(month), empty))
            bucket["fiscal_quarter"] = fiscal_quarter_label(
                month,
                start_month=config.fiscal_year_start_month,
                named_by=config.fiscal_year_named_by,
            )
            out[month_key(month)] = bucket
            month = add_months(month, 1)
    out[OVERDUE] = totals.get(OVERDUE, empty)
    if NO_CLOSE_DATE in totals:
        out[NO_CLOSE_DATE] = totals[NO_CLOSE_DATE]
    return out, unconverted(open_deals["amount"].tolist())


def prepare_snapshots(snapshots: pd.DataFrame | None) -> pd.DataFrame:
    """Snapshot rows with calendar dates and exact amounts (`amount`, `close_day`, `day`)."""
    if snapshots is None or len(snapshots) == 0:
        return pd.DataFrame(
            columns=[*SNAPSHOT_REQUIRED, "stage_number", "is_deleted", "day", "close_day", "amount"]
        )
    require_columns(snapshots, SNAPSHOT_REQUIRED, name="snapshots")
    frame = snapshots.copy()
    if "is_deleted" not in frame.columns:
        frame["is_deleted"] = False
    if "stage_number" not in frame.columns:
        frame["stage_number"] = None
    frame["day"] = pd.Series(
        calendar_dates(frame["snapshot_date"], name="snapshot_date"),
        index=frame.index,
        dtype=object,
    )
    frame["close_day"] = pd.Series(
        calendar_dates(frame["close_date"], name="close_date"), index=frame.index, dtype=object
    )
    frame["amount"] = pd.Series(
        decimal_values(frame["amount_reporting"], name="amount_reporting"),
        index=frame.index,
        dtype=object,
    )
    return frame


def _outcome(
    key: str,
    *,
    closings: Mapping[str, tuple[Any, Any]],
    deleted: Collection[str],
    month_end: pd.Timestamp,
) -> str:
    if key in deleted or key not in closings:
        return "deleted"
    status, closed_at = closings[key]
    if status in ("won", "lost") and not pd.isna(closed_at) and closed_at < month_end:
        return str(status)
    return "slipped"


def _snapshot_motion(snap: pd.DataFrame, deals: pd.DataFrame) -> pd.Series:
    known = lookup(snap["deal_key"], deals["motion"])
    fallback = snap["stage_number"].map(lambda s: "retention" if s == 7 else "new_business")
    return known.astype(object).where(known.notna(), fallback)


def forecast_accuracy(
    snapshots: pd.DataFrame,
    deals: pd.DataFrame,
    *,
    deleted_keys: Collection[str],
    motion: str,
    as_of: pd.Timestamp,
    config: MetricsConfig,
) -> tuple[dict[str, Any], int]:
    """Per complete month M: of the open deals closing in M in M's first snapshot, the share won."""
    tz = config.reporting_tz
    current_month = month_first_day(local_date(as_of, tz))
    by_key = deals.set_index("deal_key")
    closings = dict(
        zip(
            deals["deal_key"].tolist(),
            zip(deals["status"].tolist(), deals["closed_at"].tolist(), strict=True),
            strict=True,
        )
    )
    out: dict[str, Any] = {}
    excluded = 0
    if len(snapshots) == 0:
        return out, excluded
    # the snapshot days, and each one's rows, found once rather than once per month
    day_codes, day_values = pd.factorize(snapshots["day"].to_numpy(dtype=object))
    distinct = {d: code for code, d in enumerate(day_values.tolist()) if d is not None}
    for back in range(config.forecast_accuracy_months, 0, -1):
        first = add_months(current_month, -back)
        last = month_last_day(first)
        days = [d for d in distinct if first <= d <= last]
        if not days:
            continue
        taken = min(days)
        snap = snapshots.iloc[np.flatnonzero(day_codes == distinct[taken])]
        deleted_in_snap = snap["is_deleted"].astype(object).where(snap["is_deleted"].notna(), False)
        in_month = snap["close_day"].map(lambda d, f=first, la=last: d is not None and f <= d <= la)
        snap = snap[
            (snap["status"] == "open") & ~deleted_in_snap.astype(bool) & in_month.astype(bool)
        ]
        snap = snap[_snapshot_motion(snap, by_key) == motion]
        month_end = day_start(last + dt.timedelta(days=1), tz)
        outcomes = snap["deal_key"].map(
            lambda k, e=month_end: _outcome(k, closings=closings, deleted=deleted_keys, month_end=e)
        )
        amounts = snap["amount"].tolist()
        excluded += unconverted(amounts)
        known_total = amount_total([a for a in amounts if a is not None])
        figures: dict[str, Any] = {"snapshot_date": taken.isoformat(), "forecast_count": len(snap)}
        amount_by: dict[str, Decimal | None] = {}
        for outcome in OUTCOMES:
            chosen = snap[outcomes == outcome]
            figures[f"{outcome}_count"] = len(chosen)
            amount_by[outcome] = amount_total([a for a in chosen["amount"] if a is not None])
        figures["count_share"] = ratio(figures["won_count"], len(snap))
        figures["forecast_amount"] = known_total
        for outcome in OUTCOMES:
            figures[f"{outcome}_amount"] = amount_by[outcome]
        figures["amount_share"] = ratio(amount_by["won"], known_total)
        out[month_key(first)] = figures
    return out, excluded
