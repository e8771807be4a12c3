"""Calendar and fiscal periods in the reporting time zone.

Metrics bucket instants (closed_at, T) by the calendar day they fall on in the configured
reporting time zone, and calendar dates (close_date, quota periods) as they are. Fiscal years
start on the first day of a configured month and are named after the calendar year in which
they end (with a January start, FY2026 is calendar 2026; with an April start, FY2027 runs from
2026-04-01 to 2027-03-31), unless `named_by="start"`.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal
from zoneinfo import ZoneInfo

import pandas as pd

PeriodKind = Literal["month", "quarter", "year"]
YearNaming = Literal["end", "start"]


def _check_month(start_month: int) -> None:
    if not 1 <= start_month <= 12:
        raise ValueError(f"fiscal_year_start_month must be 1-12, got {start_month!r}")


def require_utc_instant(ts: pd.Timestamp | dt.datetime, *, name: str = "as_of") -> pd.Timestamp:
    """Return `ts` as a UTC Timestamp; a naive one is refused, since its meaning is a guess."""
    stamp = pd.Timestamp(ts)
    if stamp.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got naive {stamp}")
    return stamp.tz_convert("UTC")


def local_date(ts: pd.Timestamp | dt.datetime, tz: str) -> dt.date:
    """The calendar day an instant falls on in time zone `tz`."""
    return require_utc_instant(ts).tz_convert(ZoneInfo(tz)).date()


def day_start(day: dt.date, tz: str) -> pd.Timestamp:
    """The instant (UTC) at which calendar day `day` starts in time zone `tz`."""
    return pd.Timestamp(dt.datetime.combine(day, dt.time(0), tzinfo=ZoneInfo(tz))).tz_convert("UTC")


def days_instants(first: dt.date, last: dt.date, tz: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Half-open UTC bounds [start of `first`, start of the day after `last`) in zone `tz`."""
    if last < first:
        raise ValueError(f"period ends ({last}) before it starts ({first})")
    return day_start(first, tz), day_start(last + dt.timedelta(days=1), tz)


def month_key(day: dt.date) -> str:
    """The month of a calendar date as 'YYYY-MM'."""
    return f"{day.year:04d}-{day.month:02d}"


def month_first_day(day: dt.date) -> dt.date:
    """The first day of the month containing `day`."""
    return day.replace(day=1)


def add_months(day: dt.date, months: int) -> dt.date:
    """The first day of the month `months` after the month of `day`."""
    index = day.year * 12 + (day.month - 1) + months
    return dt.date(index // 12, index % 12 + 1, 1)


def month_last_day(day: dt.date) -> dt.date:
    """The last day of the month containing `day`."""
    return add_months(day, 1) - dt.timedelta(days=1)


def fiscal_year(day: dt.date, *, start_month: int = 1, named_by: YearNaming = "end") -> int:
    """The fiscal year containing `day`, named by the calendar year it ends (or starts) in."""
    _check_month(start_month)
    start_year = day.year if day.month >= start_month else day.year - 1
    if named_by == "start" or start_month == 1:
        return start_year
    return start_year + 1


def fiscal_quarter(day: dt.date, *, start_month: int = 1) -> int:
    """The fiscal quarter (1-4) containing `day`."""
    _check_month(start_month)
    return (day.month - start_month) % 12 // 3 + 1


def fiscal_quarter_label(
    day: dt.date, *, start_month: int = 1, named_by: YearNaming = "end"
) -> str:
    """A label such as 'FY2027-Q1' for the fiscal quarter containing `day`."""
    year = fiscal_year(day, start_month=start_month, named_by=named_by)
    return f"FY{year}-Q{fiscal_quarter(day, start_month=start_month)}"


def fiscal_period_bounds(
    day: dt.date, *, period: PeriodKind, start_month: int = 1
) -> tuple[dt.date, dt.date]:
    """First and last calendar day of the fiscal month, quarter or year containing `day`."""
    _check_month(start_month)
    if period == "month":
        return month_first_day(day), month_last_day(day)
    months_into_year = (day.month - start_month) % 12
    if period == "quarter":
        first = add_months(day, -(months_into_year % 3))
        return first, add_months(first, 3) - dt.timedelta(days=1)
    if period == "year":
        first = add_months(day, -months_into_year)
        return first, add_months(first, 12) - dt.timedelta(days=1)
    raise ValueError(f"period must be month, quarter or year, got {period!r}")
