"""build_stage_map and lookup_stages: defaults, overrides, closed stages, unmapped stages."""

from __future__ import annotations

import pandas as pd
import pytest

from transforms.stage_mapping import (
    STAGE_MAP_COLUMNS,
    StageMappingRule,
    build_stage_map,
    lookup_stages,
)
from transforms.stages import STAGE_KEYS, STAGES, stage_by_number

# The two default tables of canonical-model.md, copied (closed stages need no row).
SALESFORCE_DEFAULTS = {
    "Prospecting": 1,
    "Qualification": 2,
    "Needs Analysis": 2,
    "Value Proposition": 3,
    "Id. Decision Makers": 3,
    "Perception Analysis": 3,
    "Proposal/Price Quote": 4,
    "Negotiation/Review": 5,
}
HUBSPOT_DEFAULTS = {
    "appointmentscheduled": 2,
    "qualifiedtobuy": 2,
    "presentationscheduled": 3,
    "decisionmakerboughtin": 5,
    "contractsent": 6,
}


def catalog(pipeline: str, rows: list[tuple[str, str, bool, bool]]) -> pd.DataFrame:
    """A STAGE_COLUMNS frame from (stage_id, label, is_closed, is_won) tuples."""
    return pd.DataFrame(
        [
            {
                "pipeline": pipeline,
                "pipeline_label": pipeline,
                "stage_id": stage_id,
                "label": label,
                "is_closed": closed,
                "is_won": won,
                "probability": None,
                "display_order": order,
                "is_active": True,
            }
            for order, (stage_id, label, closed, won) in enumerate(rows)
        ]
    )


SALESFORCE_CATALOG = catalog(
    "default",
    [(name, name, False, False) for name in SALESFORCE_DEFAULTS]
    + [("Closed Won", "Closed Won", True, True), ("Closed Lost", "Closed Lost", True, False)],
)
HUBSPOT_CATALOG = catalog(
    "default",
    [
        ("appointmentscheduled", "Appointment Scheduled", False, False),
        ("qualifiedtobuy", "Qualified To Buy", False, False),
        ("presentationscheduled", "Presentation Scheduled", False, False),
        ("decisionmakerboughtin", "Decision Maker Bought-In", False, False),
        ("contractsent", "Contract Sent", False, False),
        ("closedwon", "Closed Won", True, True),
        ("closedlost", "Closed Lost", True, False),
    ],
)


def as_dict(stage_map: pd.DataFrame) -> dict[str, tuple[object, str]]:
    """source_stage -> (stage_number or None, origin)."""
    return {
        row.source_stage: (None if pd.isna(row.stage_number) else int(row.stage_number), row.origin)
        for row in stage_map.itertuples()
    }


def test_seven_canonical_stages() -> None:
    assert [(s.number, s.key) for s in STAGES] == [
        (1, "prospecting"),
        (2, "qualification"),
        (3, "demo"),
        (4, "proposal"),
        (5, "negotiation"),
        (6, "closing"),
        (7, "retention"),
    ]
    assert STAGE_KEYS[5] == "negotiation"
    assert stage_by_number(3).name == "Appointment / demo"
    with pytest.raises(ValueError, match="1-7"):
        stage_by_number(8)


def test_salesforce_defaults() -> None:
    stage_map = build_stage_map(catalog=SALESFORCE_CATALOG, defaults=SALESFORCE_DEFAULTS)
    assert tuple(stage_map.columns) == STAGE_MAP_COLUMNS
    assert as_dict(stage_map) == {
        "Prospecting": (1, "default"),
        "Qualification": (2, "default"),
        "Needs Analysis": (2, "default"),
        "Value Proposition": (3, "default"),
        "Id. Decision Makers": (3, "default"),
        "Perception Analysis": (3, "default"),
        "Proposal/Price Quote": (4, "default"),
        "Negotiation/Review": (5, "default"),
        "Closed Won": (6, "closed"),
        "Closed Lost": (None, "closed"),
    }
    won = stage_map.set_index("source_stage").loc["Closed Won"]
    assert (won["stage"], bool(won["is_closed"]), bool(won["is_won"])) == ("closing", True, True)
    assert str(stage_map["stage_number"].dtype) == "Int64"


def test_hubspot_defaults_by_stage_id() -> None:
    stage_map = build_stage_map(catalog=HUBSPOT_CATALOG, defaults=HUBSPOT_DEFAULTS)
    assert as_dict(stage_map) == {
        "appointmentscheduled": (2, "default"),
        "qualifiedtobuy": (2, "default"),
        "presentationscheduled": (3, "default"),
        "decisionmakerboughtin": (5, "default"),
        "contractsent": (6, "default"),
        "closedwon": (6, "closed"),
        "closedlost": (None, "closed"),
    }
    assert not stage_map.set_index("source_stage").loc["contractsent", "is_closed"]


def test_defaults_match_labels_case_insensitively() -> None:
    # A custom HubSpot pipeline has numeric stage ids; the defaults keyed by label still apply.
    custom = catalog("777", [("1001", "  appointment SCHEDULED ", False, False)])
    stage_map = build_stage_map(catalog=custom, defaults={"Appointment scheduled": 2})
    assert as_dict(stage_map) == {"1001": (2, "default")}


def test_renamed_closed_stage_needs_no_row() -> None:
    renamed = catalog(
        "default",
        [
            ("Closed - No Budget", "Closed - No Budget", True, False),
            ("Signed", "Signed", True, True),
        ],
    )
    stage_map = build_stage_map(catalog=renamed, defaults={})
    assert as_dict(stage_map) == {
        "Closed - No Budget": (None, "closed"),
        "Signed": (6, "closed"),
    }


def test_overrides_pipeline_beats_any_beats_default() -> None:
    two = pd.concat(
        [
            catalog("sales", [("Qualification", "Qualification", False, False)]),
            catalog("partner", [("Qualification", "Qualification", False, False)]),
            catalog("other", [("Qualification", "Qualification", False, False)]),
        ]
    )
    rules = [
        StageMappingRule(pipeline="*", source_stage="qualification", stage_number=3),
        StageMappingRule(pipeline="partner", source_stage="Qualification", stage_number=1),
    ]
    stage_map = build_stage_map(catalog=two, defaults={"Qualification": 2}, overrides=rules)
    got = {row.pipeline: (int(row.stage_number), row.origin) for row in stage_map.itertuples()}
    assert got == {"sales": (3, "override"), "partner": (1, "override"), "other": (3, "override")}
    only_default = build_stage_map(catalog=two, defaults={"Qualification": 2})
    assert set(only_default["origin"]) == {"default"}


def test_unmapped_open_stage_stays_visible() -> None:
    cat = catalog(
        "default", [("Foo", "Foo", False, False), ("Prospecting", "Prospecting", False, False)]
    )
    stage_map = build_stage_map(catalog=cat, defaults=SALESFORCE_DEFAULTS)
    assert as_dict(stage_map) == {"Foo": (None, "unmapped"), "Prospecting": (1, "default")}


def test_rule_rejects_stage_number_outside_range() -> None:
    with pytest.raises(ValueError, match="1-7"):
        StageMappingRule(pipeline="*", source_stage="x", stage_number=0)
    with pytest.raises(ValueError, match="1-7"):
        build_stage_map(catalog=SALESFORCE_CATALOG, defaults={"Prospecting": 9})


def test_lookup_exact_pipeline_then_any() -> None:
    cat = pd.concat(
        [
            catalog("*", [("Prospecting", "Prospecting", False, False)]),
            catalog("*", [("Closed Won", "Closed Won", True, True)]),
            catalog("rt1", [("Prospecting", "Prospecting", False, False)]),
        ]
    )
    stage_map = build_stage_map(
        catalog=cat,
        defaults={"Prospecting": 1},
        overrides=[StageMappingRule(pipeline="rt1", source_stage="Prospecting", stage_number=2)],
    )
    found = lookup_stages(
        stage_map,
        pipelines=pd.Series(["rt1", "rt2", "rt2", "rt1", None]),
        source_stages=pd.Series(
            ["Prospecting", "Prospecting", "Closed Won", "Nope", "Prospecting"]
        ),
    )
    assert found["stage_number"].tolist() == [2, 1, 6, pd.NA, 1]
    assert found["is_closed"].tolist() == [False, False, True, pd.NA, False]
    assert found["is_won"].tolist() == [False, False, True, pd.NA, False]
    assert found["in_catalog"].tolist() == [True, True, True, False, True]
