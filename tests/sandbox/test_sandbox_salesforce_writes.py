"""Salesforce sandbox writes: PATCH a record, sObject Collections, the state changes Salesforce
makes (stamps, derived stage fields, history rows), the write log, and every error shape."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from connectors.sandbox.server import SandboxServer

WORLD: dict[str, Any] = json.loads((Path(__file__).parent / "salesforce_world.json").read_text())
ACME_PILOT, GLOBEX, EXPANSION, DELETED = (f"006Aa000000000{i}IAA" for i in range(1, 5))
ROLLED_BACK = (
    "Record rolled back because not all records were valid and the request was using AllOrNone "
    "header"
)
MISSING = "006Aa0000000009IAA"  # well-formed, not in the org


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    srv = SandboxServer(fixture={"salesforce": copy.deepcopy(WORLD)}, apis=("salesforce",)).start()
    yield srv
    srv.stop()


@pytest.fixture
def sf(server: SandboxServer) -> Salesforce:
    env = server.env()
    session = requests.Session()
    session.verify = server.ca_bundle
    session.trust_env = False
    return Salesforce(
        instance_url=env["SALESFORCE_INSTANCE_URL"],
        session_id=env["SALESFORCE_ACCESS_TOKEN"],
        session=session,
    )


def opportunity(sf: Salesforce, record_id: str) -> dict[str, Any]:
    return sf.query_all(
        "SELECT Id, StageName, Amount, Probability, IsClosed, IsWon, ForecastCategoryName, "
        "LastModifiedDate, SystemModstamp, LastStageChangeDate, Pipeline_Stale__c, "
        "Pipeline_Stale_Reason__c, Pipeline_Stale_Since__c FROM Opportunity WHERE Id = "
        f"'{record_id}'",
        include_deleted=True,
    )["records"][0]


def history(sf: Salesforce, record_id: str) -> list[dict[str, Any]]:
    return sf.query(
        "SELECT StageName, Amount, PrevAmount, Probability, CloseDate, CreatedDate "
        f"FROM OpportunityHistory WHERE OpportunityId = '{record_id}' ORDER BY CreatedDate"
    )["records"]


def logged(server: SandboxServer) -> list[tuple[str, str, str, Any, Any]]:
    return [
        (e.object, e.record_id, e.field, e.old, e.new)
        for e in server.write_log.entries("salesforce")
    ]


def error_of(caught: pytest.ExceptionInfo[Any]) -> dict[str, Any]:
    content = caught.value.content
    assert isinstance(content, list) and len(content) == 1
    return content[0]


def test_stage_change_updates_derived_fields_history_and_log(
    server: SandboxServer, sf: Salesforce
) -> None:
    before = opportunity(sf, ACME_PILOT)
    assert len(history(sf, ACME_PILOT)) == 2
    assert sf.Opportunity.update(ACME_PILOT, {"StageName": "Closed Won"}) == 204
    after = opportunity(sf, ACME_PILOT)
    assert (after["StageName"], after["IsClosed"], after["IsWon"]) == ("Closed Won", True, True)
    assert (after["ForecastCategoryName"], after["Probability"]) == ("Closed", 100.0)
    assert after["LastModifiedDate"] > before["LastModifiedDate"]
    assert after["SystemModstamp"] == after["LastModifiedDate"]
    assert after["LastStageChangeDate"] == after["LastModifiedDate"]
    rows = history(sf, ACME_PILOT)
    assert [r["StageName"] for r in rows] == ["Prospecting", "Needs Analysis", "Closed Won"]
    assert (rows[-1]["Amount"], rows[-1]["PrevAmount"], rows[-1]["Probability"]) == (
        1200.0,
        1200.0,
        100.0,
    )
    assert rows[-1]["CreatedDate"] == after["LastModifiedDate"]
    assert logged(server) == [
        ("Opportunity", ACME_PILOT, "StageName", "Needs Analysis", "Closed Won"),
    ]


def test_flag_write_logs_only_the_flag_fields(server: SandboxServer, sf: Salesforce) -> None:
    before = opportunity(sf, ACME_PILOT)
    sf.Opportunity.update(
        ACME_PILOT,
        {
            "Pipeline_Stale__c": True,
            "Pipeline_Stale_Reason__c": "stuck_in_stage: 47 days in Needs Analysis (threshold 30)",
            "Pipeline_Stale_Since__c": "2026-06-01",
        },
    )
    after = opportunity(sf, ACME_PILOT)
    assert (after["Pipeline_Stale__c"], after["Pipeline_Stale_Since__c"]) == (True, "2026-06-01")
    assert after["StageName"] == before["StageName"]
    assert after["LastModifiedDate"] > before["LastModifiedDate"]
    assert len(history(sf, ACME_PILOT)) == 2  # no history for custom fields
    assert logged(server) == [
        ("Opportunity", ACME_PILOT, "Pipeline_Stale__c", False, True),
        (
            "Opportunity",
            ACME_PILOT,
            "Pipeline_Stale_Reason__c",
            None,
            "stuck_in_stage: 47 days in Needs Analysis (threshold 30)",
        ),
        ("Opportunity", ACME_PILOT, "Pipeline_Stale_Since__c", None, date(2026, 6, 1)),
    ]


def test_unchanged_value_is_not_logged_but_stamps_move(
    server: SandboxServer, sf: Salesforce
) -> None:
    first = opportunity(sf, EXPANSION)
    sf.Opportunity.update(EXPANSION, {"Pipeline_Stale__c": True})  # already true
    second = opportunity(sf, EXPANSION)
    sf.Opportunity.update(EXPANSION, {"Pipeline_Stale__c": False})
    third = opportunity(sf, EXPANSION)
    assert first["LastModifiedDate"] < second["LastModifiedDate"] < third["LastModifiedDate"]
    assert logged(server) == [("Opportunity", EXPANSION, "Pipeline_Stale__c", True, False)]


def test_amount_change_adds_history_with_previous_amount(sf: Salesforce) -> None:
    sf.Opportunity.update(ACME_PILOT, {"Amount": 1500.5})
    rows = history(sf, ACME_PILOT)
    assert (rows[-1]["StageName"], rows[-1]["Amount"], rows[-1]["PrevAmount"]) == (
        "Needs Analysis",
        1500.5,
        1200.0,
    )


def test_explicit_probability_wins_over_the_stage_default(sf: Salesforce) -> None:
    sf.Opportunity.update(EXPANSION, {"StageName": "Value Proposition", "Probability": 35})
    after = opportunity(sf, EXPANSION)
    assert (after["StageName"], after["Probability"], after["IsClosed"]) == (
        "Value Proposition",
        35.0,
        False,
    )


@pytest.mark.parametrize(
    ("record_id", "body", "exception", "code"),
    [
        (ACME_PILOT, {"Foo__c": 1}, SalesforceMalformedRequest, "INVALID_FIELD"),
        (
            ACME_PILOT,
            {"IsWon": True},
            SalesforceMalformedRequest,
            "INVALID_FIELD_FOR_INSERT_UPDATE",
        ),
        (DELETED, {"Pipeline_Stale__c": True}, SalesforceResourceNotFound, "ENTITY_IS_DELETED"),
        ("006Aa0000000001XXX", {"Name": "x"}, SalesforceMalformedRequest, "MALFORMED_ID"),
        ("001Aa0000000001IAA", {"Name": "x"}, SalesforceMalformedRequest, "MALFORMED_ID"),
        ("nonsense", {"Name": "x"}, SalesforceResourceNotFound, "NOT_FOUND"),
        (MISSING, {"Name": "x"}, SalesforceResourceNotFound, "NOT_FOUND"),
        (ACME_PILOT, {"Pipeline_Stale__c": "yes"}, SalesforceMalformedRequest, "JSON_PARSER_ERROR"),
        (
            ACME_PILOT,
            {"Pipeline_Stale_Since__c": "2026-13-01"},
            SalesforceMalformedRequest,
            "JSON_PARSER_ERROR",
        ),
        (
            ACME_PILOT,
            {"Pipeline_Stale_Reason__c": "x" * 256},
            SalesforceMalformedRequest,
            "STRING_TOO_LONG",
        ),
        (
            ACME_PILOT,
            {"StageName": "Nope"},
            SalesforceMalformedRequest,
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        ),
        (
            ACME_PILOT,
            {"CurrencyIsoCode": "CHF"},
            SalesforceMalformedRequest,
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        ),
        (ACME_PILOT, {"CloseDate": None}, SalesforceMalformedRequest, "REQUIRED_FIELD_MISSING"),
    ],
)
def test_patch_errors(
    server: SandboxServer,
    sf: Salesforce,
    record_id: str,
    body: dict[str, Any],
    exception: type[Exception],
    code: str,
) -> None:
    with pytest.raises(exception) as caught:
        sf.Opportunity.update(record_id, body)
    assert error_of(caught)["errorCode"] == code
    assert logged(server) == []


def test_reason_of_exactly_255_characters_is_accepted(sf: Salesforce) -> None:
    sf.Opportunity.update(ACME_PILOT, {"Pipeline_Stale_Reason__c": "r" * 255})
    assert opportunity(sf, ACME_PILOT)["Pipeline_Stale_Reason__c"] == "r" * 255


def _collection(sf: Salesforce, records: list[dict[str, Any]], *, all_or_none: bool) -> Any:
    body = {
        "allOrNone": all_or_none,
        "records": [{"attributes": {"type": "Opportunity"}, **r} for r in records],
    }
    return sf.restful("composite/sobjects", method="PATCH", json=body)


def test_collections_partial_success_in_input_order(server: SandboxServer, sf: Salesforce) -> None:
    results = _collection(
        sf,
        [
            {"id": ACME_PILOT, "Pipeline_Stale__c": True},
            {"id": DELETED, "Pipeline_Stale__c": True},
            {"Id": GLOBEX, "Pipeline_Stale__c": True},
            {"id": MISSING, "Pipeline_Stale__c": True},
        ],
        all_or_none=False,
    )
    assert results == [
        {"id": ACME_PILOT, "success": True, "errors": []},
        {
            "success": False,
            "errors": [
                {"statusCode": "ENTITY_IS_DELETED", "message": "entity is deleted", "fields": []}
            ],
        },
        {"id": GLOBEX, "success": True, "errors": []},
        {
            "success": False,
            "errors": [
                {
                    "statusCode": "INVALID_CROSS_REFERENCE_KEY",
                    "message": "invalid cross reference id",
                    "fields": [],
                }
            ],
        },
    ]
    assert [(e[1], e[2]) for e in logged(server)] == [
        (ACME_PILOT, "Pipeline_Stale__c"),
        (GLOBEX, "Pipeline_Stale__c"),
    ]


def test_collections_all_or_none_rolls_back_everything(
    server: SandboxServer, sf: Salesforce
) -> None:
    before = opportunity(sf, ACME_PILOT)
    results = _collection(
        sf,
        [
            {"id": ACME_PILOT, "Pipeline_Stale__c": True},
            {"id": ACME_PILOT.replace("1IAA", "2IAA"), "Pipeline_Stale_Reason__c": "x" * 300},
        ],
        all_or_none=True,
    )
    assert results[0] == {
        "id": ACME_PILOT,
        "success": False,
        "errors": [
            {
                "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                "message": ROLLED_BACK,
                "fields": [],
            }
        ],
    }
    assert results[1]["success"] is False
    assert results[1]["errors"][0]["statusCode"] == "STRING_TOO_LONG"
    assert results[1]["errors"][0]["fields"] == ["Pipeline_Stale_Reason__c"]
    assert opportunity(sf, ACME_PILOT) == before
    assert logged(server) == []


def test_collections_over_200_records_is_refused(server: SandboxServer, sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        _collection(sf, [{"id": ACME_PILOT, "Pipeline_Stale__c": True}] * 201, all_or_none=False)
    assert error_of(caught)["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert logged(server) == []


def test_collections_unknown_field_fails_the_request(server: SandboxServer, sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        _collection(sf, [{"id": ACME_PILOT, "Bogus__c": True}], all_or_none=False)
    assert error_of(caught)["errorCode"] == "INVALID_FIELD"
