"""forecast_by_month (reporting time zone, fiscal quarters, overdue) and forecast_accuracy."""

from __future__ import annotations

import datetime as dt
import warnings
from decimal import Decimal

import pandas as pd
import pyarrow as pa
import pytest

from transforms.metrics import MetricsConfig, compute_metrics


def _run(deals, *, as_of, config=None, snapshots=None):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return compute_metrics(
            deals=deals,
            stays=None,
            snapshots=snapshots,
            quotas=None,
            flags=None,
            as_of=as_of,
            config=config or MetricsConfig(),
        )


@pytest.fixture
def forecast_deals(deals_of):
    return deals_of(
        [
            {
                "deal_key": "s:jun29",
                "close_date": dt.date(2026, 6, 29),
                "amount_reporting": Decimal("10"),
                "probability": Decimal("0.5"),
            },
            {
                "deal_key": "s:jun30",
                "close_date": dt.date(2026, 6, 30),
                "amount_reporting": Decimal("20"),
                "probability": Decimal("0.5"),
                "forecast_category": "commit",
            },
            {
                "deal_key": "s:jul01",
                "close_date": dt.date(2026, 7, 1),
                "amount_reporting": Decimal("40"),
                "probability": Decimal("0.25"),
                "forecast_category": "commit",
            },
            {
                "deal_key": "s:sep",
                "close_date": dt.date(2026, 9, 15),
                "amount_reporting": Decimal("80"),
                "probability": Decimal("0.1"),
            },
            {"deal_key": "s:none", "close_date": None, "amount_reporting": Decimal("5")},
            {
                "deal_key": "s:won",
                "status": "won",
                "stage_number": 6,
                "closed_at": "2026-06-01",
                "close_date": dt.date(2026, 7, 20),
                "amount_reporting": Decimal("1000"),
            },
        ]
    )


def test_forecast_by_month_in_utc(forecast_deals) -> None:
    forecast = _run(forecast_deals, as_of=pd.Timestamp("2026-07-01T00:00Z")).value(
        "forecast_by_month"
    )
    assert list(forecast) == ["2026-07", "2026-08", "2026-09", "overdue", "no_close_date"]
    assert forecast["overdue"] == {
        "count": 2,
        "amount": Decimal(30),
        "weighted_amount": Decimal(15),
        "commit_amount": Decimal(20),
    }
    assert forecast["2026-07"]["count"] == 1  # the won deal is not forecast
    assert forecast["2026-07"]["amount"] == Decimal(40)
    assert forecast["2026-07"]["weighted_amount"] == Decimal(10)
    assert forecast["2026-07"]["commit_amount"] == Decimal(40)
    assert forecast["2026-08"]["count"] == 0 and forecast["2026-08"]["amount"] == Decimal(0)
    assert forecast["2026-09"]["amount"] == Decimal(80)
    assert forecast["no_close_date"]["count"] == 1
    assert forecast["2026-07"]["fiscal_quarter"] == "FY2026-Q3"


def test_forecast_by_month_in_a_zone_behind_utc_with_an_april_fiscal_year(forecast_deals) -> None:
    config = MetricsConfig(reporting_tz="America/Los_Angeles", fiscal_year_start_month=4)
    # 2026-07-01T00:00Z is 2026-06-30 17:00 in Los Angeles: T's month is June there
    forecast = _run(forecast_deals, as_of=pd.Timestamp("2026-07-01T00:00Z"), config=config).value(
        "forecast_by_month"
    )
    assert list(forecast)[:4] == ["2026-06", "2026-07", "2026-08", "2026-09"]
    assert forecast["2026-06"]["count"] == 1 and forecast["2026-06"]["amount"] == Decimal(20)
    assert forecast["overdue"]["count"] == 1 and forecast["overdue"]["amount"] == Decimal(10)
    assert forecast["2026-06"]["fiscal_quarter"] == "FY2027-Q1"  # April-June 2026
    assert forecast["2026-07"]["fiscal_quarter"] == "FY2027-Q2"


def test_forecast_by_month_in_a_zone_ahead_of_utc(forecast_deals) -> None:
    config = MetricsConfig(reporting_tz="Pacific/Auckland")
    # 2026-06-30T12:00Z is 2026-07-01 00:00 in Auckland: June 30 is already past there
    forecast = _run(forecast_deals, as_of=pd.Timestamp("2026-06-30T12:00Z"), config=config).value(
        "forecast_by_month"
    )
    assert next(iter(forecast)) == "2026-07"
    assert forecast["overdue"]["count"] == 2


def test_forecast_json_and_rows(forecast_deals) -> None:
    result = _run(forecast_deals, as_of=pd.Timestamp("2026-07-01T00:00Z"))
    payload = result.to_json_dict()
    assert payload["forecast_by_month"]["overdue"]["amount"] == 30.0
    frame = result.to_frame()
    texts = frame[
        (frame["metric"] == "forecast_by_month")
        & (frame["key"] == "2026-07|fiscal_quarter")
        & (frame["scope"] == "all")
        & (frame["motion"] == "new_business")
    ]
    assert texts["value_text"].tolist() == ["FY2026-Q3"]
    assert texts["value"].isna().all()


def _snapshots(rows):
    frame = pd.DataFrame(
        rows,
        columns=[
            "snapshot_date",
            "deal_key",
            "status",
            "stage_number",
            "amount_reporting",
            "close_date",
            "is_deleted",
        ],
    )
    frame["amount_reporting"] = pd.Series(
        frame["amount_reporting"].tolist(), dtype=pd.ArrowDtype(pa.decimal128(24, 6))
    )
    frame["close_date"] = pd.Series(frame["close_date"].tolist(), dtype=pd.ArrowDtype(pa.date32()))
    return frame


@pytest.fixture
def accuracy_inputs(deals_of):
    deals = deals_of(
        [
            {
                "deal_key": "s:w1",
                "status": "won",
                "stage_number": 6,
                "closed_at": "2026-06-25",
                "amount_reporting": Decimal(110),
            },
            # won at 03:00 UTC on July 1st: still June 30 in Los Angeles
            {
                "deal_key": "s:w2",
                "status": "won",
                "stage_number": 6,
                "closed_at": "2026-07-01T03:00",
                "amount_reporting": Decimal(50),
            },
            {"deal_key": "s:l1", "status": "lost", "stage_number": 3, "closed_at": "2026-06-16"},
            {"deal_key": "s:x1", "is_deleted": True},
            {"deal_key": "s:s1", "close_date": dt.date(2026, 7, 30)},
            {"deal_key": "s:o1"},
            {"deal_key": "s:c1", "status": "won", "stage_number": 6, "closed_at": "2026-05-20"},
        ]
    )
    d = dt.date
    snapshots = _snapshots(
        [
            (d(2026, 5, 31), "s:w1", "open", 3, Decimal(100), d(2026, 6, 20), False),
            (d(2026, 6, 1), "s:w1", "open", 3, Decimal(100), d(2026, 6, 20), False),
            (d(2026, 6, 1), "s:w2", "open", 4, Decimal(50), d(2026, 6, 10), False),
            (d(2026, 6, 1), "s:l1", "open", 3, Decimal(30), d(2026, 6, 15), False),
            (d(2026, 6, 1), "s:x1", "open", 2, Decimal(20), d(2026, 6, 5), False),
            (d(2026, 6, 1), "s:s1", "open", 2, Decimal(40), d(2026, 6, 30), False),
            (
                d(2026, 6, 1),
                "s:o1",
                "open",
                2,
                Decimal(70),
                d(2026, 7, 10),
                False,
            ),  # not due in June
            (d(2026, 6, 1), "s:c1", "won", 6, Decimal(15), d(2026, 6, 3), False),  # not open
            (
                d(2026, 6, 2),
                "s:w1",
                "open",
                3,
                Decimal(999),
                d(2026, 6, 20),
                False,
            ),  # later snapshot
        ]
    )
    return deals, snapshots


def test_forecast_accuracy_from_the_first_snapshot_of_the_month(accuracy_inputs) -> None:
    deals, snapshots = accuracy_inputs
    accuracy = _run(deals, as_of=pd.Timestamp("2026-07-15T00:00Z"), snapshots=snapshots).value(
        "forecast_accuracy"
    )
    june = accuracy["2026-06"]
    assert june["snapshot_date"] == "2026-06-01"
    assert june["forecast_count"] == 5
    assert (
        june["won_count"],
        june["slipped_count"],
        june["lost_count"],
        june["deleted_count"],
    ) == (1, 2, 1, 1)
    assert june["count_share"] == pytest.approx(1 / 5)
    assert june["forecast_amount"] == Decimal(240)
    assert june["won_amount"] == Decimal(100)  # the forecast amount, from the snapshot
    assert june["slipped_amount"] == Decimal(90)
    assert june["amount_share"] == pytest.approx(100 / 240)
    # May's first snapshot (05-31) has no deal due in May: nothing to score
    assert accuracy["2026-05"]["forecast_count"] == 0
    assert accuracy["2026-05"]["count_share"] is None
    assert "2026-07" not in accuracy  # T's own month is not complete


def test_forecast_accuracy_ends_the_month_in_the_reporting_zone(accuracy_inputs) -> None:
    deals, snapshots = accuracy_inputs
    config = MetricsConfig(reporting_tz="America/Los_Angeles")
    june = _run(
        deals, as_of=pd.Timestamp("2026-07-15T00:00Z"), snapshots=snapshots, config=config
    ).value("forecast_accuracy")["2026-06"]
    assert june["won_count"] == 2 and june["slipped_count"] == 1
    assert june["amount_share"] == pytest.approx(150 / 240)


def test_forecast_accuracy_without_snapshots_is_empty(accuracy_inputs) -> None:
    deals, _ = accuracy_inputs
    assert _run(deals, as_of=pd.Timestamp("2026-07-15T00:00Z")).value("forecast_accuracy") == {}
