"""HubSpot payloads to source-neutral frames: flatten_deals, flatten_history, catalogs."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.base import HISTORY_COLUMNS, SOURCE_DEAL_COLUMNS, STAGE_COLUMNS
from connectors.hubspot_flatten import (
    account_frame,
    flatten_deal,
    flatten_deals,
    flatten_history,
    history_payload,
    owner_row,
    primary_company_id,
    stage_rows,
)

LONG_PROBABILITY = "0.200000000000000011102230246251565404236316680908203125"


def deal(**props: Any) -> dict[str, Any]:
    """A listing-shaped deal payload with the given properties."""
    return {"id": "101", "properties": {"hs_object_id": "101", **props}, "archived": False}


def test_flatten_keeps_crm_strings_and_renames() -> None:
    payload = deal(
        dealname="Acme renewal",
        amount="5099.99",
        dealstage="contractsent",
        pipeline="default",
        deal_currency_code="EUR",
        hubspot_owner_id="77",
        dealtype="existingbusiness",
        hs_analytics_source="ORGANIC_SEARCH",
        createdate="2026-01-02T03:04:05.678Z",
        closedate="2026-07-31T00:00:00Z",
        hs_lastmodifieddate="2026-05-01T12:00:00.123Z",
        hs_deal_stage_probability=LONG_PROBABILITY,
        hs_is_closed="false",
        hs_is_closed_won="false",
    )
    row = flatten_deal(payload)
    assert row["source_id"] == "101"
    assert row["name"] == "Acme renewal"
    assert row["amount"] == "5099.99"
    assert row["currency"] == "EUR"
    assert row["probability"] == LONG_PROBABILITY  # text kept, never a float
    assert row["source_stage"] == "contractsent"
    assert row["owner_id"] == "77"
    assert row["deal_type"] == "existingbusiness"
    assert row["lead_source"] == "ORGANIC_SEARCH"
    assert row["created_at"] == "2026-01-02T03:04:05.678Z"
    assert row["last_modified_at"] == "2026-05-01T12:00:00.123Z"
    assert row["is_closed"] is False and row["is_won"] is False
    assert row["is_deleted"] is False
    assert row["account_id"] is None
    assert row["flag_stale"] is None  # the property was not in the payload


def test_forecast_probability_wins_over_stage_probability() -> None:
    row = flatten_deal(deal(hs_forecast_probability="0.35", hs_deal_stage_probability="0.2"))
    assert row["probability"] == "0.35"
    row = flatten_deal(deal(hs_forecast_probability="", hs_deal_stage_probability="0.2"))
    assert row["probability"] == "0.2"


@pytest.mark.parametrize(
    ("manual", "automatic", "expected"),
    [
        ("BEST_CASE", "PIPELINE", "best_case"),
        (None, "COMMIT", "commit"),
        ("OMIT", None, "omitted"),
        ("", "CLOSED", "closed"),
        ("SOMETHING_NEW", None, None),
        (None, None, None),
    ],
)
def test_forecast_category_mapping(
    manual: str | None, automatic: str | None, expected: str | None
) -> None:
    row = flatten_deal(deal(hs_manual_forecast_category=manual, hs_forecast_category=automatic))
    assert row["forecast_category"] == expected


def test_empty_amount_is_none_and_archived_is_deleted() -> None:
    payload = {**deal(amount=""), "archived": True, "archivedAt": "2026-05-02T00:00:00Z"}
    row = flatten_deal(payload)
    assert row["amount"] is None
    assert row["is_deleted"] is True


def test_last_activity_is_the_later_of_notes_and_sales_activity() -> None:
    row = flatten_deal(
        deal(
            notes_last_updated="2026-05-03T10:00:00Z",
            hs_last_sales_activity_timestamp="2026-05-01T09:00:00.000Z",
        )
    )
    assert row["last_activity_at"] == "2026-05-03T10:00:00Z"
    row = flatten_deal(deal(hs_last_sales_activity_timestamp="2026-05-01T09:00:00.000Z"))
    assert row["last_activity_at"] == "2026-05-01T09:00:00.000Z"


def test_flags_read_with_configured_names() -> None:
    names = {"flag_stale": "stale_x", "flag_reason": "reason_x", "flag_since": "since_x"}
    payload = deal(stale_x="true", reason_x="47 days", since_x="2026-05-01")
    row = flatten_deal(payload, flag_properties=names)
    assert (row["flag_stale"], row["flag_reason"], row["flag_since"]) == (
        True,
        "47 days",
        "2026-05-01",
    )
    assert flatten_deal(deal(stale_x=""), flag_properties=names)["flag_stale"] is None


def test_primary_company_from_v3_inline_type() -> None:
    payload = {
        **deal(),
        "associations": {
            "companies": {
                "results": [
                    {"id": "9", "type": "deal_to_company_unlabeled"},
                    {"id": "8", "type": "deal_to_company_unlabeled"},
                    {"id": "8", "type": "deal_to_company"},
                ]
            }
        },
    }
    assert primary_company_id(payload) == "8"


def test_primary_company_from_v4_type_id_else_first() -> None:
    v4 = {
        "associations": {
            "companies": {
                "results": [
                    {"id": "1", "associationTypes": [{"typeId": 341, "label": None}]},
                    {"id": "2", "associationTypes": [{"typeId": 5, "label": "Primary"}]},
                ]
            }
        }
    }
    assert primary_company_id(v4) == "2"
    no_primary = {"associations": {"companies": {"results": [{"id": "3"}, {"id": "4"}]}}}
    assert primary_company_id(no_primary) == "3"
    assert primary_company_id({"associations": {}}) is None


def test_flatten_deals_frame_columns_and_empty() -> None:
    frame = flatten_deals([deal(dealname="a"), {**deal(dealname="b"), "id": "102"}])
    assert tuple(frame.columns) == SOURCE_DEAL_COLUMNS
    assert frame["source_id"].tolist() == ["101", "102"]
    empty = flatten_deals([])
    assert tuple(empty.columns) == SOURCE_DEAL_COLUMNS and len(empty) == 0


def test_history_from_properties_with_history_oldest_first() -> None:
    payload = {
        "id": "7",
        "propertiesWithHistory": {
            "dealstage": [  # HubSpot sends newest first
                {"value": "closedwon", "timestamp": "2026-03-01T00:00:00.000Z"},
                {"value": "qualifiedtobuy", "timestamp": "2026-02-01T00:00:00Z"},
                {"value": "appointmentscheduled", "timestamp": "2026-01-15T00:00:00Z"},
                {"value": "qualifiedtobuy", "timestamp": "2026-01-10T00:00:00Z"},
                {"value": "appointmentscheduled", "timestamp": "2026-01-01T00:00:00Z"},
            ]
        },
        # The lossy fallback must not be used when the full history is there.
        "properties": {"hs_v2_date_entered_closedwon": "2026-03-01T00:00:00Z"},
    }
    frame = flatten_history([payload])
    assert tuple(frame.columns) == HISTORY_COLUMNS
    assert frame["source_stage"].tolist() == [
        "appointmentscheduled",
        "qualifiedtobuy",
        "appointmentscheduled",
        "qualifiedtobuy",
        "closedwon",
    ]
    assert frame["changed_at"].tolist()[0] == "2026-01-01T00:00:00Z"
    assert set(frame["source_id"]) == {"7"}


def test_history_drops_a_reset_to_the_same_stage() -> None:
    payload = {
        "id": "7",
        "propertiesWithHistory": {
            "dealstage": [
                {"value": "qualifiedtobuy", "timestamp": "2026-01-05T00:00:00Z"},
                {"value": "qualifiedtobuy", "timestamp": "2026-01-02T00:00:00Z"},
            ]
        },
    }
    frame = flatten_history([payload])
    assert frame.to_dict("records") == [
        {"source_id": "7", "source_stage": "qualifiedtobuy", "changed_at": "2026-01-02T00:00:00Z"}
    ]


def test_history_fallback_to_date_entered_is_lossy_but_ordered() -> None:
    payload = {
        "id": "8",
        "properties": {
            "dealstage": "contractsent",
            "hs_v2_date_entered_contractsent": "2026-04-01T00:00:00Z",
            "hs_v2_date_entered_appointmentscheduled": "2026-01-01T00:00:00Z",
            "hs_v2_date_entered_qualifiedtobuy": "",
            "hs_date_entered_qualifiedtobuy": "2026-02-01T00:00:00Z",
        },
    }
    frame = flatten_history([payload])
    assert frame["source_stage"].tolist() == [
        "appointmentscheduled",
        "qualifiedtobuy",
        "contractsent",
    ]


def test_history_payload_keeps_only_history_parts() -> None:
    full = {
        "id": "9",
        "properties": {"dealname": "x", "dealstage": "a", "hs_v2_date_entered_a": "t"},
        "propertiesWithHistory": {"dealstage": [{"value": "a", "timestamp": "t"}]},
    }
    assert history_payload(full) == {
        "id": "9",
        "properties": {"dealstage": "a", "hs_v2_date_entered_a": "t"},
        "propertiesWithHistory": {"dealstage": [{"value": "a", "timestamp": "t"}]},
    }


def test_stage_rows_closed_won_from_metadata() -> None:
    pipelines = [
        {
            "id": "default",
            "label": "Sales Pipeline",
            "archived": False,
            "stages": [
                {
                    "id": "contractsent",
                    "label": "Contract Sent",
                    "displayOrder": 4,
                    "metadata": {"isClosed": "false", "probability": "0.9"},
                },
                {
                    "id": "closedwon",
                    "label": "Closed Won",
                    "displayOrder": 5,
                    "metadata": {"isClosed": "true", "probability": "1.0"},
                },
                {
                    "id": "closedlost",
                    "label": "Closed Lost",
                    "displayOrder": 6,
                    "archived": True,
                    "metadata": {"isClosed": "true", "probability": "0.0"},
                },
            ],
        }
    ]
    frame = stage_rows(pipelines)
    assert tuple(frame.columns) == STAGE_COLUMNS
    rows = {r["stage_id"]: r for r in frame.to_dict("records")}
    assert rows["contractsent"]["is_closed"] is False and rows["contractsent"]["is_won"] is False
    assert rows["closedwon"]["is_closed"] is True and rows["closedwon"]["is_won"] is True
    assert rows["closedlost"]["is_won"] is False and rows["closedlost"]["is_active"] is False
    assert rows["closedwon"]["probability"] == "1.0"
    assert rows["closedwon"]["display_order"] == 5


def test_owner_and_account_rows() -> None:
    row = owner_row(
        {"id": "5", "firstName": "Ann", "lastName": "Lee", "email": "A@b.c"}, active=True
    )
    assert row == {"owner_id": "5", "name": "Ann Lee", "email": "A@b.c", "is_active": True}
    assert owner_row({"id": "6", "firstName": "", "lastName": None}, active=False)["name"] is None
    frame = account_frame([{"id": "1", "properties": {"name": "Acme", "country": "France"}}])
    assert frame.to_dict("records") == [
        {"account_id": "1", "name": "Acme", "industry": None, "country": "France"}
    ]
