"""Outcomes of the deals closed in the rate window W: win rates, deal size, cycle, velocity."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pandas as pd

from transforms.metrics_counts import amount_total, unconverted
from transforms.metrics_inputs import days_between
from transforms.metrics_money import exact_mean, percentile_cont, ratio

MEDIAN = Decimal("0.5")


def closed_in_window(
    deals: pd.DataFrame, *, start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    """Won or lost deals whose closed_at falls in [start, end)."""
    closed_at = deals["closed_at"]
    in_window = (closed_at >= start) & (closed_at < end)
    return deals[deals["status"].isin(["won", "lost"]) & in_window.fillna(False)]


def _float_or_none(value: float) -> float | None:
    return None if pd.isna(value) else float(value)


def outcome_metrics(
    deals: pd.DataFrame, *, as_of: pd.Timestamp, window_days: int, open_deals: int
) -> tuple[dict[str, Any], dict[str, int]]:
    """win_rate(_amount), avg/median deal size and sales cycle, pipeline_velocity over W."""
    closed = closed_in_window(deals, start=as_of - dt.timedelta(days=window_days), end=as_of)
    won = closed[closed["status"] == "won"]
    lost = closed[closed["status"] == "lost"]
    won_amounts = won["amount"].tolist()
    lost_amounts = lost["amount"].tolist()
    won_known = [a for a in won_amounts if a is not None]
    lost_known = [a for a in lost_amounts if a is not None]
    won_total = amount_total(won_known)
    closed_total = amount_total(won_known + lost_known)
    cycles = days_between(won["closed_at"], won["created_at"]).dropna()
    avg_cycle = _float_or_none(cycles.mean()) if len(cycles) else None
    avg_size = exact_mean(won_known)
    values: dict[str, Any] = {
        "win_rate": ratio(len(won), len(won) + len(lost)),
        "win_rate_amount": ratio(won_total, closed_total),
        "avg_deal_size": avg_size,
        "median_deal_size": percentile_cont(won_known, MEDIAN),
        "avg_sales_cycle_days": avg_cycle,
        "median_sales_cycle_days": _float_or_none(cycles.quantile(0.5)) if len(cycles) else None,
        "pipeline_velocity": _velocity(
            open_deals=open_deals,
            won=len(won),
            closed=len(closed),
            avg_size=avg_size,
            cycle=avg_cycle,
        ),
    }
    excluded = {
        "win_rate_amount": unconverted(won_amounts) + unconverted(lost_amounts),
        "avg_deal_size": unconverted(won_amounts),
        "median_deal_size": unconverted(won_amounts),
        "pipeline_velocity": unconverted(won_amounts),
    }
    return values, excluded


def _velocity(
    *, open_deals: int, won: int, closed: int, avg_size: Decimal | None, cycle: float | None
) -> float | None:
    """open_deals * win_rate * avg_deal_size / avg_sales_cycle_days, exact until the end."""
    if avg_size is None or cycle is None or closed == 0 or cycle == 0:
        return None
    numerator = Decimal(open_deals) * Decimal(won) * avg_size
    return ratio(numerator, Decimal(closed) * Decimal(repr(cycle)))
