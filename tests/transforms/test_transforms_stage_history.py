"""build_stays: stays in open canonical stages from stage-change history."""

from __future__ import annotations

import pandas as pd

from transforms.retention import RetentionRules
from transforms.stage_history import STAY_COLUMNS, build_stays, skipped_history
from transforms.stage_mapping import build_stage_map

# A catalog whose stage ids are the canonical numbers' names, plus a few extras.
CATALOG = pd.DataFrame(
    [
        {"pipeline": "default", "stage_id": sid, "label": sid, "is_closed": c, "is_won": w}
        for sid, c, w in [
            ("s1", False, False),
            ("s2", False, False),
            ("s2b", False, False),  # also stage 2
            ("s3", False, False),
            ("s4", False, False),
            ("s5", False, False),
            ("won", True, True),
            ("lost", True, False),
            ("foo", False, False),  # unmapped
        ]
    ]
)
DEFAULTS = {"s1": 1, "s2": 2, "s2b": 2, "s3": 3, "s4": 4, "s5": 5}
STAGE_MAP = build_stage_map(catalog=CATALOG, defaults=DEFAULTS)
NO_RETENTION = RetentionRules()


def deals_frame(*rows: tuple[str, str | None, bool, str | None]) -> pd.DataFrame:
    """Deal info rows: (source_id, deal_type, is_deleted, last_modified_at)."""
    return pd.DataFrame(
        [
            {
                "source_id": sid,
                "pipeline": "default",
                "deal_type": deal_type,
                "is_deleted": deleted,
                "last_modified_at": modified,
            }
            for sid, deal_type, deleted, modified in rows
        ]
    )


def history(*rows: tuple[str, str, str]) -> pd.DataFrame:
    """HISTORY_COLUMNS rows: (source_id, source_stage, changed_at)."""
    return pd.DataFrame(rows, columns=["source_id", "source_stage", "changed_at"])


def stays_of(hist: pd.DataFrame, deals: pd.DataFrame, retention: RetentionRules = NO_RETENTION):
    """build_stays for source "crm", as comparable tuples."""
    stays = build_stays(
        history=hist, deals=deals, stage_map=STAGE_MAP, retention=retention, source="crm"
    )
    assert tuple(stays.columns) == STAY_COLUMNS
    return [
        (
            row.deal_key,
            int(row.stage_number),
            row.stage,
            row.source_stage,
            row.entered_at.strftime("%m-%d"),
            None if pd.isna(row.exited_at) else row.exited_at.strftime("%m-%d %H:%M"),
            None if pd.isna(row.exit_reason) else row.exit_reason,
            None if pd.isna(row.duration_days) else row.duration_days,
        )
        for row in stays.sort_values(["deal_key", "entered_at"]).itertuples()
    ]


def test_worked_example_of_metrics_md() -> None:
    hist = history(
        ("A", "s1", "2026-05-01T00:00:00Z"),
        ("A", "s2", "2026-05-11T00:00:00Z"),
        ("A", "s4", "2026-05-21T00:00:00Z"),
        ("A", "won", "2026-06-10T00:00:00Z"),
        ("B", "s1", "2026-05-21T00:00:00Z"),
        ("B", "s2", "2026-05-31T00:00:00Z"),
        ("B", "lost", "2026-06-20T00:00:00Z"),
        ("C", "s1", "2026-05-01T00:00:00Z"),
        ("C", "s3", "2026-05-16T00:00:00Z"),
        ("D", "s2", "2026-06-01T00:00:00Z"),
        ("D", "s3", "2026-06-11T00:00:00Z"),
    )
    deals = deals_frame(*[(d, None, False, "2026-06-30T00:00:00Z") for d in "ABCD"])
    assert stays_of(hist, deals) == [
        ("crm:A", 1, "prospecting", "s1", "05-01", "05-11 00:00", "advanced", 10.0),
        ("crm:A", 2, "qualification", "s2", "05-11", "05-21 00:00", "advanced", 10.0),
        ("crm:A", 4, "proposal", "s4", "05-21", "06-10 00:00", "won", 20.0),
        ("crm:B", 1, "prospecting", "s1", "05-21", "05-31 00:00", "advanced", 10.0),
        ("crm:B", 2, "qualification", "s2", "05-31", "06-20 00:00", "lost", 20.0),
        ("crm:C", 1, "prospecting", "s1", "05-01", "05-16 00:00", "advanced", 15.0),
        ("crm:C", 3, "demo", "s3", "05-16", None, None, None),
        ("crm:D", 2, "qualification", "s2", "06-01", "06-11 00:00", "advanced", 10.0),
        ("crm:D", 3, "demo", "s3", "06-11", None, None, None),
    ]


def test_unsorted_input_duplicates_and_mixed_formats() -> None:
    hist = history(
        ("A", "s2", "2026-05-11T00:00:00.000+0000"),
        ("A", "s1", "2026-05-01T00:00:00Z"),
        ("A", "s2", "2026-05-11T00:00:00Z"),  # same stage and instant: counted once
        ("A", "s1", "2026-05-01T00:00:00.000+0000"),
    )
    deals = deals_frame(("A", None, False, "2026-05-12T00:00:00Z"))
    assert stays_of(hist, deals) == [
        ("crm:A", 1, "prospecting", "s1", "05-01", "05-11 00:00", "advanced", 10.0),
        ("crm:A", 2, "qualification", "s2", "05-11", None, None, None),
    ]


def test_consecutive_source_stages_in_one_canonical_stage_merge() -> None:
    hist = history(
        ("A", "s2", "2026-05-01T00:00:00Z"),
        ("A", "s2b", "2026-05-03T00:00:00Z"),
        ("A", "s2", "2026-05-04T12:00:00Z"),
        ("A", "s3", "2026-05-06T00:00:00Z"),
    )
    deals = deals_frame(("A", None, False, "2026-05-12T00:00:00Z"))
    assert stays_of(hist, deals) == [
        ("crm:A", 2, "qualification", "s2", "05-01", "05-06 00:00", "advanced", 5.0),
        ("crm:A", 3, "demo", "s3", "05-06", None, None, None),
    ]


def test_regression_and_fractional_days() -> None:
    hist = history(
        ("A", "s4", "2026-05-01T00:00:00Z"),
        ("A", "s2", "2026-05-02T06:00:00Z"),
        ("A", "s4", "2026-05-03T00:00:00Z"),
    )
    deals = deals_frame(("A", None, False, "2026-05-12T00:00:00Z"))
    assert stays_of(hist, deals) == [
        ("crm:A", 4, "proposal", "s4", "05-01", "05-02 06:00", "regressed", 1.25),
        ("crm:A", 2, "qualification", "s2", "05-02", "05-03 00:00", "advanced", 0.75),
        ("crm:A", 4, "proposal", "s4", "05-03", None, None, None),
    ]


def test_reopened_deal_gets_a_new_stay_and_closed_states_open_none() -> None:
    hist = history(
        ("A", "s3", "2026-05-01T00:00:00Z"),
        ("A", "lost", "2026-05-05T00:00:00Z"),
        ("A", "won", "2026-05-06T00:00:00Z"),  # closed to closed: no stay
        ("A", "s3", "2026-05-10T00:00:00Z"),  # reopened
        ("A", "won", "2026-05-20T00:00:00Z"),
    )
    deals = deals_frame(("A", None, False, "2026-05-20T00:00:00Z"))
    assert stays_of(hist, deals) == [
        ("crm:A", 3, "demo", "s3", "05-01", "05-05 00:00", "lost", 4.0),
        ("crm:A", 3, "demo", "s3", "05-10", "05-20 00:00", "won", 10.0),
    ]


def test_closing_at_the_same_instant_comes_last() -> None:
    hist = history(
        ("A", "won", "2026-05-05T00:00:00Z"),
        ("A", "s5", "2026-05-05T00:00:00Z"),
        ("A", "s1", "2026-05-01T00:00:00Z"),
    )
    deals = deals_frame(("A", None, False, "2026-05-20T00:00:00Z"))
    assert stays_of(hist, deals) == [
        ("crm:A", 1, "prospecting", "s1", "05-01", "05-05 00:00", "advanced", 4.0),
        ("crm:A", 5, "negotiation", "s5", "05-05", "05-05 00:00", "won", 0.0),
    ]


def test_deleted_deal_ends_its_open_stay() -> None:
    hist = history(
        ("A", "s2", "2026-05-01T00:00:00Z"),
        ("B", "s2", "2026-05-01T00:00:00Z"),
        ("B", "won", "2026-05-03T00:00:00Z"),
    )
    deals = deals_frame(
        ("A", None, True, "2026-05-04T12:00:00Z"), ("B", None, True, "2026-05-09T00:00:00Z")
    )
    assert stays_of(hist, deals) == [
        ("crm:A", 2, "qualification", "s2", "05-01", "05-04 12:00", "deleted", 3.5),
        ("crm:B", 2, "qualification", "s2", "05-01", "05-03 00:00", "won", 2.0),
    ]


def test_retention_deal_stays_in_seven() -> None:
    hist = history(
        ("R", "s1", "2026-05-01T00:00:00Z"),
        ("R", "s3", "2026-05-02T00:00:00Z"),
        ("R", "foo", "2026-05-03T00:00:00Z"),  # unmapped, yet retention: 7
        ("R", "won", "2026-05-11T00:00:00Z"),
    )
    deals = deals_frame(("R", "Renewal", False, "2026-05-20T00:00:00Z"))
    retention = RetentionRules.of(deal_types=["renewal"])
    assert stays_of(hist, deals, retention) == [
        ("crm:R", 7, "retention", "s1", "05-01", "05-11 00:00", "won", 10.0),
    ]


def test_unmapped_rows_are_skipped_and_reported() -> None:
    hist = history(
        ("A", "s1", "2026-05-01T00:00:00Z"),
        ("A", "foo", "2026-05-03T00:00:00Z"),
        ("A", "nowhere", "2026-05-04T00:00:00Z"),
        ("A", "s2", "2026-05-06T00:00:00Z"),
        ("A", "s3", "not a time"),
        ("Z", "s1", "2026-05-01T00:00:00Z"),
    )
    deals = deals_frame(("A", None, False, "2026-05-12T00:00:00Z"))
    assert stays_of(hist, deals) == [
        ("crm:A", 1, "prospecting", "s1", "05-01", "05-06 00:00", "advanced", 5.0),
        ("crm:A", 2, "qualification", "s2", "05-06", None, None, None),
    ]
    skipped = skipped_history(
        history=hist, deals=deals, stage_map=STAGE_MAP, retention=NO_RETENTION
    )
    assert skipped[["source_id", "source_stage", "reason"]].values.tolist() == [
        ["A", "foo", "unmapped stage"],
        ["A", "nowhere", "unmapped stage"],
        ["A", "s3", "unparseable changed_at"],
        ["Z", "s1", "unknown deal"],
    ]


def test_empty_history() -> None:
    stays = build_stays(
        history=history(),
        deals=deals_frame(("A", None, False, "2026-05-12T00:00:00Z")),
        stage_map=STAGE_MAP,
        retention=NO_RETENTION,
        source="crm",
    )
    assert stays.empty
    assert tuple(stays.columns) == STAY_COLUMNS
