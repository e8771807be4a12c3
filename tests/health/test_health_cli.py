"""`pipelines-etl metrics`: the JSON object (keys, nesting, numbers, nulls), --as-of in the
past, the tables, and one-line errors for a bad date and an empty warehouse."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from pipelines_etl.cli import app
from pipelines_etl.metrics_command import parse_as_of, plain_json

runner = CliRunner()


def _refuse_constant(name: str) -> float:
    raise AssertionError(f"non-JSON number {name} in the output")


def _env(monkeypatch: pytest.MonkeyPatch, engine) -> None:
    monkeypatch.delenv("PIPELINES_ETL_CONFIG", raising=False)
    monkeypatch.setenv(
        "PIPELINES_ETL_WAREHOUSE_URL", engine.url.render_as_string(hide_password=False)
    )


def _metrics_json(*args: str) -> dict:
    outcome = runner.invoke(app, ["metrics", "--json", *args])
    assert outcome.exit_code == 0, outcome.output
    return json.loads(outcome.stdout, parse_constant=_refuse_constant)


def test_json_keys_nesting_and_numbers(worked_sqlite, monkeypatch) -> None:
    _env(monkeypatch, worked_sqlite)
    payload = _metrics_json("--as-of", "2026-06-30")
    assert payload["as_of"] == "2026-07-01T00:00:00+00:00"
    for name in (
        "open_deals",
        "open_pipeline_amount",
        "weighted_pipeline_amount",
        "stage_distribution",
        "active_deals_per_owner",
        "win_rate",
        "win_rate_amount",
        "avg_deal_size",
        "median_deal_size",
        "avg_sales_cycle_days",
        "median_sales_cycle_days",
        "pipeline_velocity",
        "stage_conversion",
        "time_in_stage",
        "bottleneck",
        "forecast_by_month",
        "forecast_accuracy",
        "stale_deals",
        "by_source",
        "by_owner",
        "by_pipeline",
        "by_lead_channel",
        "retention",
    ):
        assert name in payload, name
    assert payload["open_pipeline_amount"] == 140  # a JSON number, not a string
    assert isinstance(payload["open_pipeline_amount"], float)
    assert payload["weighted_pipeline_amount"] == 64
    assert payload["pipeline_velocity"] == 2.5
    assert payload["stage_conversion"]["2->3"] == 0.75
    assert payload["by_owner"]["ann@example.com"]["open_deals"] == 2
    assert payload["by_source"]["salesforce"]["win_rate"] == 0.5
    assert payload["by_pipeline"]["salesforce:default"]["open_pipeline_amount"] == 140
    assert payload["by_lead_channel"]["inbound"]["avg_sales_cycle_days"] == 40
    assert payload["retention"]["open_deals"] == 0
    assert payload["retention"]["win_rate"] is None
    assert payload["forecast_by_month"]["2026-07"]["commit_amount"] == 80


def test_as_of_a_past_date_rewinds_with_stage_history(worked_sqlite, monkeypatch) -> None:
    _env(monkeypatch, worked_sqlite)
    payload = _metrics_json("--as-of", "2026-06-15")  # T = 2026-06-16T00:00Z
    # B was lost on 06-20: at T it was still open in stage 2; A was already won
    assert payload["open_deals"] == 3
    assert payload["open_pipeline_amount"] == 190  # 50 + 80 + 60
    assert payload["stage_distribution"]["2"] == {
        "count": 1,
        "amount": 50,
        "weighted_amount": 0,
    }
    assert payload["win_rate"] == 1.0  # only A closed in [03-18, 06-16)
    assert payload["pipeline_velocity"] == 7.5  # 3 x 1 x 100 / 40
    assert payload["stage_conversion"]["2->3"] == 1.0  # B undecided at T
    assert payload["time_in_stage"]["2"]["stays"] == 2  # A and D; B's stay still open


def test_as_of_before_any_deal_gives_zero_counts_and_null_rates(worked_sqlite, monkeypatch):
    _env(monkeypatch, worked_sqlite)
    payload = _metrics_json("--as-of", "2020-01-01")
    assert payload["open_deals"] == 0
    assert payload["open_pipeline_amount"] == 0  # a sum over no deals
    for name in ("win_rate", "avg_deal_size", "avg_sales_cycle_days", "pipeline_velocity"):
        assert payload[name] is None, name
    assert set(payload["stage_conversion"].values()) == {None}
    assert payload["bottleneck"] is None


def test_degenerate_warehouse_gives_nulls_never_zero(sqlite_engine, rows, monkeypatch):
    rows.insert(
        sqlite_engine,
        rows.deals,
        [
            rows.deal("hubspot:X", stage_number=2, amount_reporting=None, probability=None),
            rows.deal("hubspot:Y", is_deleted=True, amount_reporting=Decimal("5")),
        ],
    )
    _env(monkeypatch, sqlite_engine)
    payload = _metrics_json()
    assert payload["open_deals"] == 1
    assert payload["open_pipeline_amount"] is None  # the only amount is unknown
    assert payload["weighted_pipeline_amount"] is None
    assert payload["excluded_unconverted"]["open_pipeline_amount"] == 1
    for name in (
        "win_rate",
        "win_rate_amount",
        "avg_deal_size",
        "median_deal_size",
        "avg_sales_cycle_days",
        "median_sales_cycle_days",
        "pipeline_velocity",
        "bottleneck",
    ):
        assert payload[name] is None, name
    assert payload["time_in_stage"]["2"]["median"] is None
    assert payload["stale_deals"]["share_amount"] is None  # 0 of an unknown total


def test_tables_show_the_headline_and_bottleneck(worked_sqlite, monkeypatch) -> None:
    _env(monkeypatch, worked_sqlite)
    outcome = runner.invoke(app, ["metrics", "--as-of", "2026-06-30"], terminal_width=200)
    assert outcome.exit_code == 0, outcome.output
    text = outcome.stdout
    assert "open pipeline" in text and "140.00" in text
    assert "50.0%" in text  # win rate
    assert "bottleneck (largest median time in stage): 4" in text
    assert "ann@example.com" in text
    assert "2026-07" in text and "FY2026-Q3" in text


def test_empty_warehouse_says_to_sync(sqlite_engine, monkeypatch) -> None:
    _env(monkeypatch, sqlite_engine)
    outcome = runner.invoke(app, ["metrics", "--json"])
    assert outcome.exit_code == 1
    assert "no deals yet: run pipelines-etl sync" in outcome.output
    assert "Traceback" not in outcome.output
    assert outcome.stdout.strip() == ""


@pytest.mark.parametrize("text", ["2026-13-01", "yesterday", "2026/06/30"])
def test_bad_date_is_one_clear_line(worked_sqlite, monkeypatch, text: str) -> None:
    _env(monkeypatch, worked_sqlite)
    outcome = runner.invoke(app, ["metrics", "--as-of", text])
    assert outcome.exit_code == 1
    assert f"--as-of {text!r}: not a date; expected YYYY-MM-DD" in outcome.output
    assert len(outcome.output.strip().splitlines()) == 1


def test_parse_as_of_is_the_end_of_the_day_utc() -> None:
    assert parse_as_of("2026-06-30").isoformat() == "2026-07-01T00:00:00+00:00"
    assert parse_as_of(None) is None


def test_plain_json_turns_nan_and_decimals_into_json() -> None:
    value = {"a": Decimal("1.5"), "b": float("nan"), "c": [Decimal("NaN"), 2], "d": True}
    assert plain_json(value) == {"a": 1.5, "b": None, "c": [None, 2], "d": True}
