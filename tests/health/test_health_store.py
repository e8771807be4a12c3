"""compute_health / store_health on a hand-built warehouse (SQLite and PostgreSQL): the worked
example's figures, the stored pipeline_metrics rows equal to the JSON values, the headline."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from pipelines_etl.config import AppConfig
from pipelines_etl.health import (
    compute_health,
    headline,
    load_metric_inputs,
    metric_unit,
    store_health,
)
from pipelines_etl.metrics_command import metrics_json
from transforms.dtypes import DATE, MONEY, PROBABILITY, TIMESTAMP
from warehouse.metrics_store import latest_run_id, metric_value, read_metric_rows
from warehouse.schema import pipeline_metrics

T = pd.Timestamp("2026-07-01T00:00Z")


def test_inputs_have_the_dtypes_compute_metrics_expects(worked_engine) -> None:
    inputs = load_metric_inputs(worked_engine, as_of=T)
    frame = inputs.deals
    assert frame["amount_reporting"].dtype == MONEY
    assert frame["probability"].dtype == PROBABILITY
    assert frame["close_date"].dtype == DATE
    assert str(frame["created_at"].dtype) == TIMESTAMP
    assert str(inputs.stays["entered_at"].dtype) == TIMESTAMP
    assert sorted(frame["deal_key"]) == [f"salesforce:{k}" for k in "ABCD"]
    assert len(inputs.stays) == 9 and len(inputs.flags) == 0


def test_worked_example_from_the_warehouse(worked_engine) -> None:
    result = compute_health(worked_engine, app_config=AppConfig(), as_of=T)
    assert result.value("open_deals") == 2
    assert result.value("open_pipeline_amount") == Decimal("140")
    assert result.value("weighted_pipeline_amount") == Decimal("64")
    assert result.value("win_rate") == 0.5
    assert result.value("avg_sales_cycle_days") == 40.0
    assert result.value("pipeline_velocity") == 2.5
    assert result.value("stage_conversion") == {
        "1->2": 1.0,
        "2->3": 0.75,
        "3->4": 1.0,
        "4->5": 1.0,
        "5->6": 1.0,
    }
    assert result.value("bottleneck") == 4
    assert result.value("time_in_stage")["1"]["median"] == 10.0


def _json_leaf(payload: dict[str, Any], row: dict[str, Any]) -> Any:
    body = payload if row["motion"] == "new_business" else payload["retention"]
    if row["scope"] != "all":
        body = body[f"by_{row['scope']}"][row["scope_key"]]
    if row["key"] == "excluded_unconverted":
        return body["excluded_unconverted"][row["metric"]]
    value = body[row["metric"]]
    for part in row["key"].split("|") if row["key"] else []:
        value = value[part]
    return value


def test_stored_rows_equal_the_json_values(worked_engine) -> None:
    result = compute_health(worked_engine, app_config=AppConfig(), as_of=T)
    written = store_health(worked_engine, result, run_id="run-1", currency="USD")
    payload = json.loads(metrics_json(result))
    with worked_engine.connect() as conn:
        stored = read_metric_rows(conn, run_id="run-1")
        assert latest_run_id(conn) == "run-1"
    assert written == len(stored) > 100
    checked = 0
    for row in stored:
        expected = _json_leaf(payload, row)
        if row["value_text"] is not None and row["value_text"] not in ("true", "false"):
            assert row["value_text"] == expected, row
        elif expected is None:
            assert row["value"] is None, row
        elif isinstance(expected, bool):
            assert row["value"] == (1 if expected else 0), row
        else:
            assert float(row["value"]) == pytest.approx(expected, rel=1e-12), row
            checked += 1
        assert row["as_of"] == T.to_pydatetime()
    assert checked > 50
    # money is stored exactly, not as a float
    with worked_engine.connect() as conn:
        weighted = metric_value(conn, run_id="run-1", metric="weighted_pipeline_amount")
        units = dict(
            conn.execute(
                sa.select(pipeline_metrics.c.metric, pipeline_metrics.c.unit).where(
                    pipeline_metrics.c.key == "", pipeline_metrics.c.scope == "all"
                )
            ).all()
        )
    assert weighted == Decimal("64")
    assert units["open_pipeline_amount"] == "USD"
    assert units["win_rate"] == "ratio"
    assert units["avg_sales_cycle_days"] == "days"
    assert units["open_deals"] == "count"


def test_storing_a_run_again_replaces_its_rows(worked_sqlite) -> None:
    result = compute_health(worked_sqlite, app_config=AppConfig(), as_of=T)
    first = store_health(worked_sqlite, result, run_id="same")
    second = store_health(worked_sqlite, result, run_id="same")
    with worked_sqlite.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(pipeline_metrics)).scalar()
    assert first == second == total


def test_headline_figures(worked_sqlite, rows) -> None:
    rows.insert(
        worked_sqlite,
        rows.flags,
        [
            {
                "deal_key": "salesforce:C",
                "source": "salesforce",
                "source_id": "C",
                "rules": "no_activity;past_close_date",
                "state": "pushed",
            },
            {  # cleared flags do not count
                "deal_key": "salesforce:D",
                "source": "salesforce",
                "source_id": "D",
                "rules": "no_activity",
                "state": "cleared",
            },
        ],
    )
    result = compute_health(worked_sqlite, app_config=AppConfig(), as_of=T)
    figures = headline(result)
    assert figures["open_deals"] == 2
    assert figures["open_pipeline_amount"] == Decimal("140")
    assert figures["win_rate"] == 0.5
    assert figures["avg_deal_size"] == Decimal("100")
    assert figures["avg_sales_cycle_days"] == 40.0
    assert figures["pipeline_velocity"] == 2.5
    assert figures["stale_deals"] == 1
    assert figures["stale_share"] == pytest.approx(80 / 140)  # C's 80 of 140 open
    assert result.value("stale_deals")["rules"]["past_close_date"]["count"] == 1


@pytest.mark.parametrize(
    ("metric", "key", "unit"),
    [
        ("stage_distribution", "3|weighted_amount", "EUR"),
        ("stage_distribution", "3|count", "count"),
        ("time_in_stage", "2|p90", "days"),
        ("time_in_stage", "2|stays", "count"),
        ("stage_conversion", "1->2", "ratio"),
        ("required_pipeline", "2026-07-01/2026-09-30|deals", "count"),
        ("required_pipeline", "2026-07-01/2026-09-30|amount", "EUR"),
        ("forecast_accuracy", "2026-05|count_share", "ratio"),
        ("pipeline_velocity", "", "EUR/day"),
        ("bottleneck", "", None),
    ],
)
def test_metric_units(metric: str, key: str, unit: str | None) -> None:
    assert metric_unit(metric, key, currency="EUR") == unit


def _snapshot(day: dt.date, key: str, close: dt.date, amount: str) -> dict[str, Any]:
    return {
        "snapshot_date": day,
        "deal_key": key,
        "source": "salesforce",
        "motion": "new_business",
        "status": "open",
        "stage_number": 3,
        "amount_reporting": Decimal(amount),
        "close_date": close,
        "is_deleted": False,
    }


def test_forecast_accuracy_reads_each_months_first_snapshot(worked_engine, rows) -> None:
    june, june_4 = dt.date(2026, 6, 3), dt.date(2026, 6, 4)
    rows.insert(
        worked_engine,
        rows.snapshots,
        [
            _snapshot(june, "salesforce:A", dt.date(2026, 6, 25), "100"),  # won 06-10
            _snapshot(june, "salesforce:C", dt.date(2026, 6, 20), "80"),  # still open: slipped
            _snapshot(june_4, "salesforce:D", dt.date(2026, 6, 28), "60"),  # not the first
            _snapshot(dt.date(2024, 1, 1), "salesforce:D", dt.date(2024, 1, 9), "60"),  # too old
        ],
    )
    inputs = load_metric_inputs(worked_engine, as_of=T)
    assert sorted(set(inputs.snapshots["snapshot_date"])) == [june]
    accuracy = compute_health(worked_engine, app_config=AppConfig(), as_of=T).value(
        "forecast_accuracy"
    )
    assert list(accuracy) == ["2026-06"]
    june_figures = accuracy["2026-06"]
    assert (june_figures["forecast_count"], june_figures["won_count"]) == (2, 1)
    assert june_figures["slipped_count"] == 1
    assert june_figures["amount_share"] == pytest.approx(100 / 180)
