"""Fiscal calendar periods and day boundaries in a reporting time zone."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from transforms.fiscal import (
    add_months,
    day_start,
    days_instants,
    fiscal_period_bounds,
    fiscal_quarter,
    fiscal_quarter_label,
    fiscal_year,
    local_date,
    month_key,
    month_last_day,
)

d = dt.date


@pytest.mark.parametrize(
    ("day", "start", "year", "quarter", "label"),
    [
        (d(2026, 1, 15), 1, 2026, 1, "FY2026-Q1"),
        (d(2026, 12, 31), 1, 2026, 4, "FY2026-Q4"),
        (d(2026, 3, 31), 4, 2026, 4, "FY2026-Q4"),  # April 2025 - March 2026
        (d(2026, 4, 1), 4, 2027, 1, "FY2027-Q1"),
        (d(2026, 7, 1), 4, 2027, 2, "FY2027-Q2"),
        (d(2027, 1, 31), 4, 2027, 4, "FY2027-Q4"),
        (d(2026, 2, 1), 2, 2027, 1, "FY2027-Q1"),
    ],
)
def test_fiscal_year_and_quarter(day, start, year, quarter, label) -> None:
    assert fiscal_year(day, start_month=start) == year
    assert fiscal_quarter(day, start_month=start) == quarter
    assert fiscal_quarter_label(day, start_month=start) == label


def test_fiscal_year_named_by_its_start() -> None:
    assert fiscal_year(d(2026, 4, 1), start_month=4, named_by="start") == 2026
    assert fiscal_quarter_label(d(2027, 2, 1), start_month=4, named_by="start") == "FY2026-Q4"


def test_fiscal_period_bounds_with_an_april_start() -> None:
    assert fiscal_period_bounds(d(2026, 5, 17), period="quarter", start_month=4) == (
        d(2026, 4, 1),
        d(2026, 6, 30),
    )
    assert fiscal_period_bounds(d(2027, 2, 28), period="quarter", start_month=4) == (
        d(2027, 1, 1),
        d(2027, 3, 31),
    )
    assert fiscal_period_bounds(d(2027, 2, 28), period="year", start_month=4) == (
        d(2026, 4, 1),
        d(2027, 3, 31),
    )
    assert fiscal_period_bounds(d(2024, 2, 10), period="month") == (d(2024, 2, 1), d(2024, 2, 29))
    with pytest.raises(ValueError, match="period"):
        fiscal_period_bounds(d(2026, 1, 1), period="week")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="1-12"):
        fiscal_year(d(2026, 1, 1), start_month=0)


def test_month_helpers() -> None:
    assert month_key(d(2026, 7, 9)) == "2026-07"
    assert add_months(d(2026, 11, 30), 3) == d(2027, 2, 1)
    assert add_months(d(2026, 1, 31), -1) == d(2025, 12, 1)
    assert month_last_day(d(2026, 2, 3)) == d(2026, 2, 28)


def test_days_in_a_reporting_zone() -> None:
    t = pd.Timestamp("2026-07-01T00:00Z")
    assert local_date(t, "UTC") == d(2026, 7, 1)
    assert local_date(t, "America/Los_Angeles") == d(2026, 6, 30)
    assert local_date(t, "Asia/Tokyo") == d(2026, 7, 1)
    assert day_start(d(2026, 7, 1), "America/Los_Angeles") == pd.Timestamp("2026-07-01T07:00Z")
    # a day across a DST change is 23 hours long
    start, end = days_instants(d(2026, 3, 8), d(2026, 3, 8), "America/New_York")
    assert end - start == pd.Timedelta(hours=23)
    with pytest.raises(ValueError, match="before it starts"):
        days_instants(d(2026, 3, 9), d(2026, 3, 8), "UTC")
    with pytest.raises(ValueError, match="timezone-aware"):
        local_date(pd.Timestamp("2026-07-01"), "UTC")
