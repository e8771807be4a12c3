"""Win rate and sales cycle at each of the last month ends, as `metrics --as-of` gives them.

At a past as-of time T' the outcome metrics read only deals closed in [T' - W, T'), which the
rewind of `load_metric_inputs` leaves as they are; so the deals loaded once at T give, for
each month end, the very figures `compute_health(as_of=end of that day)` computes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pipelines_etl.health import end_of_day
from transforms.fiscal import add_months, month_first_day
from transforms.metrics_inputs import prepare_deals
from transforms.metrics_outcomes import outcome_metrics

TREND_METRICS: tuple[str, ...] = (
    "win_rate",
    "win_rate_amount",
    "avg_sales_cycle_days",
    "median_sales_cycle_days",
)


@dataclass(frozen=True)
class TrendValues:
    """Outcome figures as of the end of one day (a month's last day)."""

    as_of_date: dt.date
    values: dict[str, Any]

    @property
    def month(self) -> str:
        """The month the point closes, 'YYYY-MM'."""
        return f"{self.as_of_date.year:04d}-{self.as_of_date.month:02d}"


def month_end_dates(as_of: pd.Timestamp, *, months: int = 12) -> list[dt.date]:
    """Last days (UTC) of the `months` complete months before T, oldest first."""
    if months < 1:
        raise ValueError(f"months must be at least 1, got {months}")
    last_complete_end = (as_of - pd.Timedelta(microseconds=1)).date()
    # the month containing T's last instant is complete only when T is its end
    current_first = month_first_day(last_complete_end)
    if (
        end_of_day(last_complete_end) == as_of
        and (last_complete_end + dt.timedelta(days=1)).day == 1
    ):
        newest = last_complete_end
    else:
        newest = current_first - dt.timedelta(days=1)
    out: list[dt.date] = []
    for back in range(months - 1, -1, -1):
        first = add_months(month_first_day(newest), -back)
        out.append(add_months(first, 1) - dt.timedelta(days=1))
    return out


def outcome_trend(
    deals: pd.DataFrame | None,
    *,
    dates: list[dt.date],
    window_days: int,
    motion: str = "new_business",
) -> list[TrendValues]:
    """Win rates and sales cycle over the rate window ending at each date's end."""
    prepared = prepare_deals(deals)
    chosen = prepared[prepared["motion"] == motion]
    points: list[TrendValues] = []
    for day in dates:
        values, _excluded = outcome_metrics(
            chosen, as_of=end_of_day(day), window_days=window_days, open_deals=0
        )
        points.append(TrendValues(as_of_date=day, values={m: values[m] for m in TREND_METRICS}))
    return points
