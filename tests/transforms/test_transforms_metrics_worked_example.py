"""metrics.md's worked example (deals A-D as of 2026-07-01), every number of it, in each scope."""

from __future__ import annotations

import datetime as dt
import json
import warnings
from decimal import Decimal

import pandas as pd
import pytest

from transforms.metrics import MetricsConfig, compute_metrics

T = pd.Timestamp("2026-07-01T00:00Z")


def _run(deals: pd.DataFrame, stays: pd.DataFrame | None, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return compute_metrics(
            deals=deals,
            stays=stays,
            snapshots=kwargs.pop("snapshots", None),
            quotas=kwargs.pop("quotas", None),
            flags=kwargs.pop("flags", None),
            as_of=kwargs.pop("as_of", T),
            config=kwargs.pop("config", MetricsConfig()),
        )


def test_worked_example_counts_and_outcomes(worked_example) -> None:
    result = _run(*worked_example)
    assert result.value("open_deals") == 2
    assert result.value("open_pipeline_amount") == Decimal("140")
    assert result.value("weighted_pipeline_amount") == Decimal("64")  # 80*0.5 + 60*0.4
    assert result.value("win_rate") == 0.5
    assert result.value("win_rate_amount") == pytest.approx(100 / 150)
    assert result.value("avg_deal_size") == Decimal("100")
    assert result.value("median_deal_size") == Decimal("100")
    assert result.value("avg_sales_cycle_days") == 40.0  # A only: 05-01 -> 06-10
    assert result.value("median_sales_cycle_days") == 40.0
    assert result.value("pipeline_velocity") == 2.5  # 2 * 0.5 * 100 / 40


def test_worked_example_stage_flow(worked_example) -> None:
    result = _run(*worked_example)
    assert result.value("stage_conversion") == {
        "1->2": 1.0,  # A, B, C all reached 2 (D entered at 2)
        "2->3": 0.75,  # A, C, D reached 3; B lost at 2
        "3->4": 1.0,  # A reached 4; C and D open at 3 are undecided
        "4->5": 1.0,  # A skipped 5: passing through
        "5->6": 1.0,
    }
    times = result.value("time_in_stage")
    assert times["1"]["median"] == 10.0  # A 10, B 10, C 15
    assert times["1"]["p90"] == pytest.approx(14.0)  # 10 + 0.8 * (15 - 10)
    assert times["2"]["median"] == 10.0  # A 10, B 20 (ended by the loss), D 10
    assert times["2"]["p90"] == pytest.approx(18.0)  # 10 + 0.8 * (20 - 10)
    assert times["3"]["median"] is None and times["3"]["p90"] is None
    assert times["3"]["current_age_median"] == 33.0  # C 46 days, D 20 days
    assert times["4"] == {"median": 20.0, "p90": 20.0, "current_age_median": None, "stays": 1}
    assert times["5"]["median"] is None and times["6"]["median"] is None
    assert result.value("bottleneck") == 4


def test_worked_example_stage_distribution_and_owner(worked_example) -> None:
    result = _run(*worked_example)
    distribution = result.value("stage_distribution")
    assert distribution["3"] == {
        "count": 2,
        "amount": Decimal("140"),
        "weighted_amount": Decimal("64"),
    }
    assert distribution["1"]["count"] == 0 and distribution["1"]["amount"] == Decimal(0)
    assert set(distribution) == {"1", "2", "3", "4", "5", "6"}
    assert result.value("active_deals_per_owner") == {
        "ann@example.com": {"count": 2, "amount": Decimal("140")}
    }


def test_worked_example_json_object(worked_example) -> None:
    payload = _run(*worked_example).to_json_dict()
    json.dumps(payload)  # plain JSON types only
    assert payload["open_deals"] == 2
    assert payload["open_pipeline_amount"] == 140.0
    assert payload["weighted_pipeline_amount"] == 64.0
    assert payload["win_rate_amount"] == pytest.approx(2 / 3)
    assert payload["pipeline_velocity"] == 2.5
    assert list(payload["stage_conversion"]) == ["1->2", "2->3", "3->4", "4->5", "5->6"]
    assert payload["time_in_stage"]["3"]["median"] is None
    assert payload["bottleneck"] == 4
    assert payload["excluded_unconverted"]["open_pipeline_amount"] == 0
    assert payload["by_source"]["salesforce"]["win_rate"] == 0.5
    assert payload["by_pipeline"]["salesforce:default"]["open_deals"] == 2
    assert payload["by_owner"]["ann@example.com"]["avg_deal_size"] == 100.0
    assert payload["by_lead_channel"]["inbound"]["avg_sales_cycle_days"] == 40.0
    assert "win_rate" not in payload["by_lead_channel"]["inbound"]
    assert payload["retention"]["open_deals"] == 0
    assert payload["retention"]["win_rate"] is None


def test_worked_example_pipeline_metrics_rows(worked_example) -> None:
    frame = _run(*worked_example).to_frame()
    assert list(frame.columns) == [
        "scope",
        "scope_key",
        "motion",
        "metric",
        "key",
        "value",
        "value_text",
    ]

    def row(metric: str, key: str = "", scope: str = "all", motion: str = "new_business"):
        found = frame[
            (frame["metric"] == metric)
            & (frame["key"] == key)
            & (frame["scope"] == scope)
            & (frame["motion"] == motion)
        ]
        assert len(found) == 1, (metric, key, scope)
        return found.iloc[0]

    assert row("open_pipeline_amount")["value"] == 140.0
    assert row("open_pipeline_amount")["value_text"] == "140"
    assert row("open_pipeline_amount", "excluded_unconverted")["value"] == 0.0
    assert row("stage_conversion", "2->3")["value"] == 0.75
    assert row("time_in_stage", "1|median")["value"] == 10.0
    assert row("time_in_stage", "3|current_age_median")["value"] == 33.0
    assert pd.isna(row("time_in_stage", "3|median")["value"])
    assert row("stage_distribution", "3|amount")["value"] == 140.0
    assert row("forecast_by_month", "2026-07|amount")["value"] == 80.0
    assert row("bottleneck")["value"] == 4.0
    assert row("win_rate", scope="owner")["scope_key"] == "ann@example.com"
    assert pd.isna(row("win_rate", motion="retention")["value"])
    assert set(frame["scope"]) == {"all", "source", "owner", "pipeline", "lead_channel"}


def test_scopes_split_by_source_pipeline_owner_and_lead_channel(
    deals_of, stays_of, worked_example
) -> None:
    deals, stays = worked_example
    deals = deals.copy()
    is_d = deals["deal_key"] == "salesforce:D"
    deals.loc[is_d, "source"] = "hubspot"
    deals.loc[is_d, "owner_email"] = "bob@example.com"
    deals.loc[deals["deal_key"] == "salesforce:B", "lead_channel"] = "outbound"
    result = _run(deals, stays)
    # salesforce: A won, B lost, C open
    assert result.value("open_deals", scope="source", scope_key="salesforce") == 1
    assert result.value("pipeline_velocity", scope="source", scope_key="salesforce") == 1.25
    # hubspot: D only, open, entered at 2 and now at 3
    assert result.value(
        "open_pipeline_amount", scope="pipeline", scope_key="hubspot:default"
    ) == Decimal(60)
    assert result.value("win_rate", scope="source", scope_key="hubspot") is None
    assert result.value("stage_conversion", scope="source", scope_key="hubspot") == {
        "1->2": None,
        "2->3": 1.0,
        "3->4": None,
        "4->5": None,
        "5->6": None,
    }
    assert result.value(
        "weighted_pipeline_amount", scope="owner", scope_key="bob@example.com"
    ) == Decimal(24)
    assert result.value("avg_sales_cycle_days", scope="lead_channel", scope_key="inbound") == 40.0
    assert result.value("avg_sales_cycle_days", scope="lead_channel", scope_key="outbound") is None
    # the all scope is unchanged by the split
    assert result.value("pipeline_velocity") == 2.5
    assert result.value("stage_conversion")["2->3"] == 0.75


def test_retention_motion_is_reported_apart(deals_of, worked_example) -> None:
    deals, stays = worked_example
    retention = deals_of(
        [
            {
                "deal_key": "salesforce:R",
                "motion": "retention",
                "stage_number": 7,
                "status": "won",
                "created_at": "2026-06-01",
                "closed_at": "2026-06-15",
                "amount_reporting": Decimal("1000"),
                "probability": Decimal("1"),
                "close_date": dt.date(2026, 6, 15),
            },
            {
                "deal_key": "salesforce:S",
                "motion": "retention",
                "stage_number": 7,
                "created_at": "2026-06-01",
                "stage_entered_at": "2026-06-01",
                "amount_reporting": Decimal("300"),
                "probability": Decimal("0.9"),
            },
        ]
    )
    result = _run(pd.concat([deals, retention], ignore_index=True), stays)
    assert result.value("open_deals") == 2
    assert result.value("avg_deal_size") == Decimal(100)
    assert result.value("win_rate", motion="retention") == 1.0
    assert result.value("avg_deal_size", motion="retention") == Decimal(1000)
    assert result.value("avg_sales_cycle_days", motion="retention") == 14.0
    assert result.value("open_pipeline_amount", motion="retention") == Decimal(300)
    assert result.value("weighted_pipeline_amount", motion="retention") == Decimal(270)
    assert result.value("time_in_stage", motion="retention")["7"]["current_age_median"] == 30.0
    assert result.to_json_dict()["retention"]["avg_deal_size"] == 1000.0


def test_deleted_deals_are_excluded_everywhere(deals_of, worked_example) -> None:
    deals, stays = worked_example
    deleted = deals_of(
        [
            {
                "deal_key": "salesforce:E",
                "is_deleted": True,
                "amount_reporting": Decimal("999"),
                "stage_number": 3,
                "stage_entered_at": "2026-06-01",
            },
            {
                "deal_key": "salesforce:F",
                "is_deleted": True,
                "status": "won",
                "stage_number": 6,
                "closed_at": "2026-06-02",
                "amount_reporting": Decimal("5000"),
            },
        ]
    )
    result = _run(pd.concat([deals, deleted], ignore_index=True), stays)
    assert result.value("open_deals") == 2
    assert result.value("open_pipeline_amount") == Decimal(140)
    assert result.value("win_rate") == 0.5
    assert result.value("avg_deal_size") == Decimal(100)


def test_close_date_as_python_dates_gives_the_same_figures(deals_of, worked_example) -> None:
    deals, stays = worked_example
    as_objects = deals.copy()
    as_objects["close_date"] = pd.Series(list(deals["close_date"]), dtype=object)
    left = _run(deals, stays).to_json_dict()
    right = _run(as_objects, stays).to_json_dict()
    assert left == right
