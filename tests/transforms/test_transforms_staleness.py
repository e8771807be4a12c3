"""Staleness rules (stale-deals.md): thresholds, reasons, exclusions, truncation, flagged_since."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest

from transforms.staleness import StalenessConfig, detect_stale, flagged_since, learn_thresholds

T = pd.Timestamp("2026-07-01T00:00Z")
ON = StalenessConfig()
STUCK_ONLY = StalenessConfig(no_activity=False, past_close_date=False)


def _stays_for(
    stays_of, *, source: str, stage: int, durations: list[int], ended: str = "2026-06-01"
):
    end = pd.Timestamp(ended, tz="UTC")
    rows = []
    for i, days in enumerate(durations):
        start = end - pd.Timedelta(days=days)
        rows.append(
            (f"{source}:h{stage}_{i}", stage, start.isoformat(), end.isoformat(), "advanced")
        )
    return stays_of(rows)


def _history_deals(deals_of, stays: pd.DataFrame, source: str):
    keys = stays["deal_key"].unique()
    return deals_of(
        [
            {"deal_key": k, "source": source, "status": "lost", "closed_at": "2026-06-01"}
            for k in keys
        ]
    )


def test_threshold_learned_from_20_stays(deals_of, stays_of) -> None:
    stays = _stays_for(stays_of, source="salesforce", stage=4, durations=list(range(1, 21)))
    deals = _history_deals(deals_of, stays, "salesforce")
    table = learn_thresholds(stays, deals, as_of=T, config=ON)
    row = table[(table["source"] == "salesforce") & (table["stage_number"] == 4)].iloc[0]
    # p90 of 1..20 with linear interpolation: 18 + 0.1 = 18.1 -> 18 whole days
    assert (row["threshold_days"], row["basis"], row["stays_count"]) == (18, "p90", 20)
    assert list(table.columns) == [
        "source",
        "stage_number",
        "threshold_days",
        "basis",
        "stays_count",
    ]


def test_threshold_has_a_floor_of_14_days(deals_of, stays_of) -> None:
    stays = _stays_for(stays_of, source="salesforce", stage=4, durations=[5] * 25)
    table = learn_thresholds(
        stays, _history_deals(deals_of, stays, "salesforce"), as_of=T, config=ON
    )
    assert table.loc[table["stage_number"] == 4, ["threshold_days", "basis"]].iloc[0].tolist() == [
        14,
        "p90",
    ]


def test_threshold_defaults_below_20_stays_and_per_source(deals_of, stays_of) -> None:
    sf = _stays_for(stays_of, source="salesforce", stage=4, durations=list(range(1, 20)))  # 19
    hs = _stays_for(stays_of, source="hubspot", stage=4, durations=[40] * 30)
    deals = pd.concat(
        [_history_deals(deals_of, sf, "salesforce"), _history_deals(deals_of, hs, "hubspot")],
        ignore_index=True,
    )
    table = learn_thresholds(
        pd.concat([sf, hs], ignore_index=True), deals, as_of=T, config=ON
    ).set_index(["source", "stage_number"])
    assert table.loc[("salesforce", 4)].tolist() == [30, "default", 19]
    assert table.loc[("hubspot", 4)].tolist() == [40, "p90", 30]


def test_threshold_counts_only_stays_ended_in_the_last_365_days(deals_of, stays_of) -> None:
    old = _stays_for(
        stays_of, source="salesforce", stage=4, durations=[50] * 10, ended="2025-06-30T23:59"
    )
    edge = _stays_for(
        stays_of, source="salesforce", stage=4, durations=[50] * 10, ended="2025-07-01T00:00"
    )
    at_t = _stays_for(
        stays_of, source="salesforce", stage=4, durations=[50] * 10, ended="2026-07-01T00:00"
    )
    for i, frame in enumerate((old, edge, at_t)):
        frame["deal_key"] = frame["deal_key"] + f"_{i}"
    stays = pd.concat([old, edge, at_t], ignore_index=True)
    table = learn_thresholds(
        stays, _history_deals(deals_of, stays, "salesforce"), as_of=T, config=ON
    )
    assert table.loc[table["stage_number"] == 4, ["basis", "stays_count"]].iloc[0].tolist() == [
        "default",
        10,
    ]


def test_configured_thresholds_win(deals_of, stays_of) -> None:
    stays = _stays_for(stays_of, source="salesforce", stage=4, durations=list(range(1, 21)))
    deals = _history_deals(deals_of, stays, "salesforce")
    config = StalenessConfig(stage_days={4: 21}, source_stage_days={("hubspot", 4): 10})
    table = learn_thresholds(stays, deals, as_of=T, config=config).set_index(
        ["source", "stage_number"]
    )
    assert table.loc[("salesforce", 4)].tolist() == [21, "configured", 20]
    assert table.loc[("hubspot", 4)].tolist() == [10, "configured", 0]


def _open(deals_of, **fields):
    base = {
        "deal_key": "salesforce:1",
        "stage_number": 4,
        "stage_entered_at": "2026-06-25",
        "last_activity_at": "2026-06-30",
        "close_date": dt.date(2026, 7, 31),
        "amount_reporting": Decimal("500"),
    }
    return deals_of([{**base, **fields}])


def test_stuck_in_stage_reason_with_a_learned_threshold(deals_of) -> None:
    thresholds = pd.DataFrame(
        {
            "source": ["salesforce"],
            "stage_number": [4],
            "threshold_days": [21],
            "basis": ["p90"],
            "stays_count": [312],
        }
    )
    deal = _open(deals_of, stage_entered_at="2026-05-14T12:00")  # 47.5 days -> 47
    flags = detect_stale(deals=deal, thresholds=thresholds, as_of=T, config=ON)
    assert flags["reason"].tolist() == [
        "stuck_in_stage: 47 days in Proposal (threshold 21, p90 of 312 past stays)"
    ]
    assert flags["rules"].tolist() == ["stuck_in_stage"]
    assert flags["days_in_stage"].tolist() == [47]


@pytest.mark.parametrize(
    ("entered", "flagged"),
    [("2026-06-10T00:00", False), ("2026-06-09T00:00", True), ("2026-06-09T00:01", False)],
)
def test_stuck_in_stage_compares_whole_days(deals_of, entered, flagged) -> None:
    deal = _open(deals_of, stage_entered_at=entered)
    config = StalenessConfig(stage_days={4: 21}, no_activity=False, past_close_date=False)
    flags = detect_stale(deals=deal, thresholds=None, as_of=T, config=config)
    assert len(flags) == int(flagged)
    if flagged:
        assert (
            flags["reason"].iloc[0]
            == "stuck_in_stage: 22 days in Proposal (threshold 21, configured)"
        )


def test_stuck_in_stage_falls_back_to_the_default(deals_of) -> None:
    deal = _open(deals_of, stage_entered_at="2026-05-31", stage_number=2)
    flags = detect_stale(deals=deal, thresholds=None, as_of=T, config=STUCK_ONLY)
    assert flags["reason"].tolist() == [
        "stuck_in_stage: 31 days in Lead qualification (threshold 30, default)"
    ]


def test_no_activity_with_an_activity_date(deals_of) -> None:
    config = StalenessConfig(stuck_in_stage=False, past_close_date=False)
    stale = detect_stale(
        deals=_open(deals_of, last_activity_at="2026-05-31"),
        thresholds=None,
        as_of=T,
        config=config,
    )
    fresh = detect_stale(
        deals=_open(deals_of, last_activity_at="2026-06-01"),
        thresholds=None,
        as_of=T,
        config=config,
    )
    assert stale["reason"].tolist() == ["no_activity: 31 days since last activity (threshold 30)"]
    assert len(fresh) == 0


def test_no_activity_without_activity_ignores_the_toolkits_own_flag_writes(deals_of) -> None:
    config = StalenessConfig(stuck_in_stage=False, past_close_date=False)
    deal = _open(
        deals_of,
        last_activity_at=None,
        stage_entered_at="2026-04-20",
        last_modified_at="2026-06-30T10:00:02",
    )
    assert len(detect_stale(deals=deal, thresholds=None, as_of=T, config=config)) == 0
    writes = pd.DataFrame(
        {
            "deal_key": ["salesforce:1", "salesforce:1"],
            "written_at": pd.to_datetime(
                ["2026-06-30T10:00:00Z", "2026-03-01T00:00:00Z"], utc=True
            ),
            "modified_before": pd.to_datetime(["2026-05-01T00:00:00Z", None], utc=True),
        }
    )
    flags = detect_stale(
        deals=deal, thresholds=None, as_of=T, config=config, flag_write_times=writes
    )
    assert flags["reason"].tolist() == [
        "no_activity: no activity logged, 61 days since last change (threshold 30)"
    ]
    # a rep's edit long after the toolkit's write is a real change
    later = _open(deals_of, last_activity_at=None, last_modified_at="2026-06-30T12:00")
    assert (
        len(
            detect_stale(
                deals=later, thresholds=None, as_of=T, config=config, flag_write_times=writes
            )
        )
        == 0
    )


@pytest.mark.parametrize(
    ("close", "tz", "flagged"),
    [
        (dt.date(2026, 6, 23), "UTC", True),
        (dt.date(2026, 6, 24), "UTC", False),
        (dt.date(2026, 6, 23), "America/Los_Angeles", False),
    ],
)
def test_past_close_date(deals_of, close, tz, flagged) -> None:
    config = StalenessConfig(stuck_in_stage=False, no_activity=False, reporting_tz=tz)
    flags = detect_stale(
        deals=_open(deals_of, close_date=close), thresholds=None, as_of=T, config=config
    )
    assert len(flags) == int(flagged)
    if flagged:
        assert (
            flags["reason"].iloc[0]
            == "past_close_date: close date 2026-06-23 is 8 days past (threshold 7)"
        )


def test_several_rules_join_and_cut_to_the_field_length(deals_of) -> None:
    deal = _open(
        deals_of,
        stage_entered_at="2026-05-01",
        last_activity_at="2026-05-01",
        close_date=dt.date(2026, 6, 1),
    )
    full = detect_stale(deals=deal, thresholds=None, as_of=T, config=ON)
    assert full["rules"].tolist() == ["stuck_in_stage;no_activity;past_close_date"]
    assert full["reason"].iloc[0] == (
        "stuck_in_stage: 61 days in Proposal (threshold 30, default); "
        "no_activity: 61 days since last activity (threshold 30); "
        "past_close_date: close date 2026-06-01 is 30 days past (threshold 7)"
    )
    cut = detect_stale(deals=deal, thresholds=None, as_of=T, config=ON, field_length=40)
    assert len(cut["reason"].iloc[0]) == 40
    assert cut["reason"].iloc[0] == full["reason"].iloc[0][:39] + "…"
    exact = detect_stale(
        deals=deal, thresholds=None, as_of=T, config=ON, field_length=len(full["reason"].iloc[0])
    )
    assert exact["reason"].iloc[0] == full["reason"].iloc[0]


def test_closed_deleted_and_excluded_deals_are_never_flagged(deals_of) -> None:
    old = {
        "stage_entered_at": "2026-01-01",
        "last_activity_at": "2026-01-01",
        "close_date": dt.date(2026, 1, 1),
    }
    deals = deals_of(
        [
            {"deal_key": "salesforce:open", **old},
            {
                "deal_key": "salesforce:won",
                "status": "won",
                "stage_number": 6,
                "closed_at": "2026-02-01",
                **old,
            },
            {"deal_key": "salesforce:lost", "status": "lost", "closed_at": "2026-02-01", **old},
            {"deal_key": "salesforce:deleted", "is_deleted": True, **old},
            {"deal_key": "salesforce:by_key", **old},
            {"deal_key": "salesforce:by_owner", "owner_email": "vip@example.com", **old},
            {"deal_key": "hubspot:by_pipeline", "source": "hubspot", "pipeline": "partners", **old},
            {
                "deal_key": "hubspot:bare_pipeline",
                "source": "hubspot",
                "pipeline": "renewals",
                **old,
            },
            {
                "deal_key": "hubspot:other_default",
                "source": "hubspot",
                "pipeline": "default",
                **old,
            },
        ]
    )
    config = StalenessConfig(
        exclude_deal_keys=frozenset({"salesforce:by_key"}),
        exclude_owner_emails=frozenset({"VIP@example.com"}),
        exclude_pipelines=frozenset({"hubspot:partners", "renewals", "salesforce:default_x"}),
    )
    flags = detect_stale(deals=deals, thresholds=None, as_of=T, config=config)
    assert flags["deal_key"].tolist() == ["salesforce:open", "hubspot:other_default"]


def test_rules_switched_off_flag_nothing(deals_of) -> None:
    deal = _open(
        deals_of,
        stage_entered_at="2026-01-01",
        last_activity_at="2026-01-01",
        close_date=dt.date(2026, 1, 1),
    )
    config = StalenessConfig(stuck_in_stage=False, no_activity=False, past_close_date=False)
    assert len(detect_stale(deals=deal, thresholds=None, as_of=T, config=config)) == 0


def test_detect_stale_on_no_deals_and_bad_input(deals_of) -> None:
    empty = detect_stale(deals=None, thresholds=None, as_of=T, config=ON)
    assert len(empty) == 0 and "reason" in empty.columns
    with pytest.raises(ValueError, match="timezone-aware"):
        detect_stale(deals=None, thresholds=None, as_of=pd.Timestamp("2026-07-01"), config=ON)
    with pytest.raises(ValueError, match="field_length"):
        detect_stale(
            deals=_open(deals_of, close_date=dt.date(2026, 1, 1)),
            thresholds=None,
            as_of=T,
            config=ON,
            field_length=0,
        )
    with pytest.raises(ValueError, match="percentile"):
        StalenessConfig(percentile=0)


def test_flagged_since_keeps_the_start_of_an_unbroken_run() -> None:
    previous = pd.DataFrame(
        {
            "deal_key": ["salesforce:C", "salesforce:E", "salesforce:F"],
            "flagged_since": [dt.date(2026, 6, 20), dt.date(2026, 6, 1), dt.date(2026, 5, 1)],
            "flagged": [True, True, False],  # F's flag was cleared: its run is broken
        }
    )
    detected = pd.DataFrame(
        {"deal_key": ["salesforce:C", "salesforce:D", "salesforce:F"], "reason": ["a", "b", "c"]}
    )
    out = flagged_since(previous, detected, dt.date(2026, 7, 1))
    assert out["flagged_since"].tolist() == [
        dt.date(2026, 6, 20),
        dt.date(2026, 7, 1),
        dt.date(2026, 7, 1),
    ]
    assert (
        flagged_since(None, detected, dt.date(2026, 7, 1))["flagged_since"].tolist()
        == [dt.date(2026, 7, 1)] * 3
    )
