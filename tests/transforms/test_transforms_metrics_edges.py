"""Degenerate inputs give None (never 0, an error or a warning); windows are half-open."""

from __future__ import annotations

import warnings
from decimal import Decimal

import pandas as pd
import pytest

from transforms.metrics import MetricsConfig, compute_metrics
from transforms.metrics_inputs import DEAL_REQUIRED

T = pd.Timestamp("2026-07-01T00:00Z")
UNDEFINED = (
    "win_rate",
    "win_rate_amount",
    "avg_deal_size",
    "median_deal_size",
    "avg_sales_cycle_days",
    "median_sales_cycle_days",
    "pipeline_velocity",
    "bottleneck",
)


def _run(deals, stays=None, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return compute_metrics(
            deals=deals,
            stays=stays,
            snapshots=None,
            quotas=kwargs.pop("quotas", None),
            flags=kwargs.pop("flags", None),
            as_of=kwargs.pop("as_of", T),
            config=kwargs.pop("config", MetricsConfig()),
        )


@pytest.mark.parametrize("deals", [None, pd.DataFrame(columns=list(DEAL_REQUIRED))])
def test_no_deals_at_all(deals) -> None:
    result = _run(deals)
    assert result.value("open_deals") == 0
    assert result.value("open_pipeline_amount") == Decimal(0)
    for metric in UNDEFINED:
        assert result.value(metric) is None, metric
    assert set(result.value("stage_conversion").values()) == {None}
    assert result.value("forecast_by_month") == {
        "overdue": {"count": 0, "amount": 0, "weighted_amount": 0, "commit_amount": 0}
    }
    payload = result.to_json_dict()
    assert payload["by_owner"] == {} and payload["retention"]["win_rate"] is None
    assert len(result.to_frame()) > 0


def test_nothing_closed(deals_of) -> None:
    result = _run(deals_of([{"deal_key": "s:1", "amount_reporting": Decimal("10")}]))
    assert result.value("open_deals") == 1
    for metric in UNDEFINED:
        assert result.value(metric) is None, metric


def test_everything_lost_gives_a_zero_win_rate_but_no_deal_size(deals_of) -> None:
    deals = deals_of(
        [
            {
                "deal_key": f"s:{i}",
                "status": "lost",
                "stage_number": 2,
                "closed_at": "2026-06-01",
                "amount_reporting": Decimal("10"),
            }
            for i in range(3)
        ]
    )
    result = _run(deals)
    assert result.value("win_rate") == 0.0
    assert result.value("win_rate_amount") == 0.0
    assert result.value("avg_deal_size") is None
    assert result.value("avg_sales_cycle_days") is None
    assert result.value("pipeline_velocity") is None
    assert result.value("stage_conversion")["2->3"] == 0.0  # all lost at 2, no history


def test_one_owner_scope_equals_the_all_scope(worked_example) -> None:
    result = _run(*worked_example)
    payload = result.to_json_dict()
    assert list(payload["by_owner"]) == ["ann@example.com"]
    owner = payload["by_owner"]["ann@example.com"]
    for metric in (
        "open_deals",
        "win_rate",
        "pipeline_velocity",
        "stage_conversion",
        "time_in_stage",
    ):
        assert owner[metric] == payload[metric], metric


def test_no_history_uses_each_deals_own_stage(worked_example) -> None:
    deals, _ = worked_example
    result = _run(deals, None)
    # B lost at 2 enters and ends at 2; A won without stays enters at 6 and so says nothing;
    # C and D open at 3 are undecided
    assert result.value("stage_conversion") == {
        "1->2": None,
        "2->3": 0.0,
        "3->4": None,
        "4->5": None,
        "5->6": None,
    }
    times = result.value("time_in_stage")
    assert all(times[str(k)]["median"] is None for k in range(1, 7))
    assert times["3"]["current_age_median"] == 33.0  # from stage_entered_at
    assert result.value("bottleneck") is None


def test_all_amounts_unconvertible(worked_example) -> None:
    deals, stays = worked_example
    deals = deals.copy()
    deals["amount_reporting"] = pd.Series(
        [None] * len(deals), dtype=deals["amount_reporting"].dtype
    )
    result = _run(deals, stays)
    assert result.value("open_deals") == 2
    assert result.value("open_pipeline_amount") is None
    assert result.value("weighted_pipeline_amount") is None
    assert result.value("win_rate") == 0.5  # counts need no amount
    assert result.value("win_rate_amount") is None
    assert result.value("avg_deal_size") is None
    assert result.value("pipeline_velocity") is None
    assert result.excluded("open_pipeline_amount") == 2
    assert result.excluded("win_rate_amount") == 2
    assert result.excluded("avg_deal_size") == 1
    assert result.to_json_dict()["excluded_unconverted"]["open_pipeline_amount"] == 2


def test_some_amounts_unconvertible_are_left_out_and_counted(worked_example) -> None:
    deals, stays = worked_example
    deals = deals.copy()
    deals["amount_reporting"] = pd.Series(
        [Decimal(100), Decimal(50), None, Decimal(60)], dtype=deals["amount_reporting"].dtype
    )
    result = _run(deals, stays)
    assert result.value("open_pipeline_amount") == Decimal(60)
    assert result.value("weighted_pipeline_amount") == Decimal("24")
    assert result.excluded("open_pipeline_amount") == 1
    frame = result.to_frame()
    row = frame[
        (frame["scope"] == "all")
        & (frame["motion"] == "new_business")
        & (frame["metric"] == "open_pipeline_amount")
        & (frame["key"] == "excluded_unconverted")
    ]
    assert row["value"].tolist() == [1.0]


def test_money_sums_are_exact(deals_of) -> None:
    deals = deals_of(
        [
            {
                "deal_key": f"s:{i}",
                "amount_reporting": Decimal("0.100000"),
                "probability": Decimal("0.3333"),
            }
            for i in range(10)
        ]
    )
    result = _run(deals)
    assert result.value("open_pipeline_amount") == Decimal("1")  # never 0.9999999999999999
    assert result.value("weighted_pipeline_amount") == Decimal("0.3333")


def test_rate_window_is_half_open(deals_of) -> None:
    deals = deals_of(
        [
            # exactly T - 90 days: inside
            {
                "deal_key": "s:in",
                "status": "won",
                "stage_number": 6,
                "created_at": "2026-03-01",
                "closed_at": "2026-04-02T00:00",
                "amount_reporting": Decimal("10"),
            },
            # exactly T: outside
            {
                "deal_key": "s:at_t",
                "status": "lost",
                "created_at": "2026-03-01",
                "closed_at": "2026-07-01T00:00",
                "amount_reporting": Decimal("10"),
            },
            # a microsecond before the window: outside
            {
                "deal_key": "s:before",
                "status": "lost",
                "created_at": "2026-03-01",
                "closed_at": "2026-04-01T23:59:59.999999",
                "amount_reporting": Decimal("10"),
            },
        ]
    )
    result = _run(deals)
    assert result.value("win_rate") == 1.0
    assert result.value("avg_sales_cycle_days") == 32.0  # 03-01 -> 04-02


def test_time_in_stage_and_cohort_windows_are_half_open(deals_of, stays_of) -> None:
    deals = deals_of(
        [
            {
                "deal_key": "s:a",
                "status": "lost",
                "stage_number": 1,
                "created_at": "2025-07-01T00:00",
                "closed_at": "2025-07-01T00:00",
            },  # created exactly T - 365 days: in the cohort
            {
                "deal_key": "s:b",
                "status": "lost",
                "stage_number": 1,
                "created_at": "2025-06-30T23:59:59",
                "closed_at": "2025-07-11",
            },  # before: out
            {
                "deal_key": "s:c",
                "stage_number": 2,
                "created_at": "2026-06-01",
                "stage_entered_at": "2026-07-01",
            },
        ]
    )
    stays = stays_of(
        [
            (
                "s:a",
                1,
                "2025-06-21",
                "2025-07-01T00:00",
                "lost",
            ),  # ended at T - 365: counted (10 days)
            ("s:b", 1, "2025-06-20", "2025-06-30T23:59:59", "lost"),  # ended before: not counted
            ("s:c", 1, "2026-06-01", "2026-07-01T00:00", "advanced"),  # ended at T: not counted
            ("s:c", 2, "2026-07-01T00:00", None, None),
        ]
    )
    result = _run(deals, stays)
    times = result.value("time_in_stage")
    assert times["1"]["stays"] == 1 and times["1"]["median"] == 10.0
    # cohort: a (lost at 1) and c (reached 2); b is out of the cohort
    assert result.value("stage_conversion")["1->2"] == 0.5


def test_configured_windows(deals_of) -> None:
    deals = deals_of(
        [
            {
                "deal_key": "s:1",
                "status": "won",
                "stage_number": 6,
                "created_at": "2026-06-01",
                "closed_at": "2026-06-21",
                "amount_reporting": Decimal("10"),
            }
        ]
    )
    assert _run(deals).value("win_rate") == 1.0
    assert _run(deals, config=MetricsConfig(rate_window_days=7)).value("win_rate") is None


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"drop": "amount_reporting"}, ValueError, "amount_reporting"),
        ({"amount_float": True}, TypeError, "exact"),
        ({"naive": "created_at"}, ValueError, "naive"),
        ({"status": "pending"}, ValueError, "status"),
        ({"duplicate": True}, ValueError, "duplicates"),
    ],
)
def test_bad_deals_are_refused(worked_example, change, error, match) -> None:
    deals, stays = worked_example
    deals = deals.copy()
    if "drop" in change:
        deals = deals.drop(columns=[change["drop"]])
    if "amount_float" in change:
        deals["amount_reporting"] = [100.0, 50.0, 80.0, 60.0]
    if "naive" in change:
        deals["created_at"] = deals["created_at"].dt.tz_localize(None)
    if "status" in change:
        deals.loc[0, "status"] = change["status"]
    if "duplicate" in change:
        deals = pd.concat([deals, deals.iloc[[0]]], ignore_index=True)
    with pytest.raises(error, match=match):
        _run(deals, stays)


def test_naive_as_of_and_bad_config_are_refused(worked_example) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        _run(*worked_example, as_of=pd.Timestamp("2026-07-01"))
    with pytest.raises(ValueError, match="fiscal_year_start_month"):
        MetricsConfig(fiscal_year_start_month=13)
    with pytest.raises(ValueError, match="reporting_tz"):
        MetricsConfig(reporting_tz="Mars/Olympus")
    with pytest.raises(ValueError, match="rate_window_days"):
        MetricsConfig(rate_window_days=0)


def test_stays_lacking_duration_take_it_from_their_timestamps(worked_example) -> None:
    deals, stays = worked_example
    result = _run(deals, stays.drop(columns=["duration_days"]))
    assert result.value("time_in_stage")["2"]["median"] == 10.0
    assert result.value("bottleneck") == 4


def test_tie_for_bottleneck_goes_to_the_earlier_stage(deals_of, stays_of) -> None:
    deals = deals_of([{"deal_key": "s:1", "stage_number": 3, "created_at": "2026-06-01"}])
    stays = stays_of(
        [
            ("s:1", 1, "2026-06-01", "2026-06-06", "advanced"),
            ("s:1", 2, "2026-06-06", "2026-06-11", "advanced"),
            ("s:1", 3, "2026-06-11", None, None),
        ]
    )
    assert _run(deals, stays).value("bottleneck") == 1
