"""Salesforce sandbox reads: SOQL query/queryAll and paging, describe, record GET, multi- and
single-currency orgs, through simple-salesforce over HTTPS."""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from connectors.sandbox.server import SandboxServer

WORLD: dict[str, Any] = json.loads((Path(__file__).parent / "salesforce_world.json").read_text())
ACME_PILOT, GLOBEX, EXPANSION, DELETED = (f"006Aa000000000{i}IAA" for i in range(1, 5))


class CountingSession(requests.Session):
    """Trusts the sandbox CA, ignores the environment, counts requests by path."""

    def __init__(self, server: SandboxServer) -> None:
        super().__init__()
        self.verify = server.ca_bundle
        self.trust_env = False
        self.paths: list[str] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        self.paths.append(str(url).split("?")[0])
        return super().request(method, url, *args, **kwargs)


def client(server: SandboxServer) -> Salesforce:
    env = server.env()
    return Salesforce(
        instance_url=env["SALESFORCE_INSTANCE_URL"],
        session_id=env["SALESFORCE_ACCESS_TOKEN"],
        session=CountingSession(server),
    )


def start(section: dict[str, Any] | None, **kwargs: Any) -> SandboxServer:
    fixture = None if section is None else {"salesforce": section}
    return SandboxServer(fixture=fixture, apis=("salesforce",), **kwargs).start()


@pytest.fixture(scope="module")
def world() -> Iterator[SandboxServer]:
    srv = start(copy.deepcopy(WORLD))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def generated() -> Iterator[SandboxServer]:
    srv = start(None, deals=2600, seed=9)
    yield srv
    srv.stop()


def error_of(caught: pytest.ExceptionInfo[Any]) -> dict[str, Any]:
    content = caught.value.content
    assert isinstance(content, list) and len(content) == 1
    return content[0]


# -- fixture org ------------------------------------------------------------------------------
def test_fixture_fields_and_derived_values(world: SandboxServer) -> None:
    records = client(world).query(
        "SELECT Id, Name, StageName, Amount, CurrencyIsoCode, IsClosed, IsWon, "
        "ForecastCategoryName, Probability, CloseDate, LastActivityDate, Owner.Name "
        "FROM Opportunity ORDER BY Name"
    )["records"]
    plain = [{k: v for k, v in r.items() if k not in {"attributes", "Owner"}} for r in records]
    assert plain == [
        {
            "Id": EXPANSION,
            "Name": "Acme expansion",
            "StageName": "Prospecting",
            "Amount": None,
            "CurrencyIsoCode": "USD",
            "IsClosed": False,
            "IsWon": False,
            "ForecastCategoryName": "Pipeline",
            "Probability": 10.0,
            "CloseDate": "2026-09-30",
            "LastActivityDate": None,
        },
        {
            "Id": ACME_PILOT,
            "Name": "Acme pilot",
            "StageName": "Needs Analysis",
            "Amount": 1200.0,
            "CurrencyIsoCode": "EUR",
            "IsClosed": False,
            "IsWon": False,
            "ForecastCategoryName": "Pipeline",
            "Probability": 20.0,
            "CloseDate": "2026-07-31",
            "LastActivityDate": "2026-05-20",
        },
        {
            "Id": GLOBEX,
            "Name": "Globex renewal",
            "StageName": "Closed Won",
            "Amount": 5099.99,
            "CurrencyIsoCode": "GBP",
            "IsClosed": True,
            "IsWon": True,
            "ForecastCategoryName": "Closed",
            "Probability": 100.0,
            "CloseDate": "2026-06-01",
            "LastActivityDate": None,
        },
    ]
    assert [r["Owner"]["Name"] for r in records] == ["Ann Lee", "Ann Lee", "Ben Okafor"]
    assert records[0]["attributes"] == {
        "type": "Opportunity",
        "url": f"/services/data/v59.0/sobjects/Opportunity/{EXPANSION}",
    }


def test_last_stage_change_date_comes_from_history(world: SandboxServer) -> None:
    rows = client(world).query("SELECT Id, LastStageChangeDate FROM Opportunity ORDER BY Id")[
        "records"
    ]
    assert {r["Id"]: r["LastStageChangeDate"] for r in rows} == {
        ACME_PILOT: "2026-05-10T12:30:00.000+0000",  # entered Needs Analysis
        GLOBEX: "2026-06-01T08:00:00.000+0000",  # entered Closed Won
        EXPANSION: "2026-05-02T00:00:00.000+0000",  # no history: created in its stage
    }


def test_deleted_records_only_through_query_all(world: SandboxServer) -> None:
    sf = client(world)
    assert sf.query("SELECT COUNT() FROM Opportunity")["totalSize"] == 3
    rows = sf.query_all("SELECT Id, IsDeleted FROM Opportunity", include_deleted=True)["records"]
    assert {r["Id"]: r["IsDeleted"] for r in rows} == {
        ACME_PILOT: False,
        GLOBEX: False,
        EXPANSION: False,
        DELETED: True,
    }
    assert sf.session.paths[-1].endswith("/services/data/v59.0/queryAll/")  # type: ignore[attr-defined]


def test_currency_types_of_a_multi_currency_org(world: SandboxServer) -> None:
    rows = client(world).query(
        "SELECT IsoCode, ConversionRate, IsCorporate, IsActive, DecimalPlaces FROM CurrencyType "
        "ORDER BY IsoCode"
    )["records"]
    assert [{k: v for k, v in r.items() if k != "attributes"} for r in rows] == [
        {
            "IsoCode": "EUR",
            "ConversionRate": 0.92,
            "IsCorporate": False,
            "IsActive": True,
            "DecimalPlaces": 2,
        },
        {
            "IsoCode": "GBP",
            "ConversionRate": 0.79,
            "IsCorporate": False,
            "IsActive": True,
            "DecimalPlaces": 2,
        },
        {
            "IsoCode": "USD",
            "ConversionRate": 1.0,
            "IsCorporate": True,
            "IsActive": True,
            "DecimalPlaces": 2,
        },
    ]


def test_single_currency_org_has_no_currency_field_or_object() -> None:
    section = copy.deepcopy(WORLD)
    section["multi_currency"] = False
    del section["currency_types"]
    for opportunity in section["opportunities"]:
        opportunity.pop("CurrencyIsoCode", None)
    srv = start(section)
    try:
        sf = client(srv)
        with pytest.raises(SalesforceMalformedRequest) as caught:
            sf.query("SELECT Id, CurrencyIsoCode FROM Opportunity")
        assert error_of(caught)["errorCode"] == "INVALID_FIELD"
        with pytest.raises(SalesforceMalformedRequest) as caught:
            sf.query("SELECT IsoCode FROM CurrencyType")
        assert error_of(caught)["errorCode"] == "INVALID_TYPE"
        names = {f["name"] for f in sf.Opportunity.describe()["fields"]}
        assert "CurrencyIsoCode" not in names
        assert sf.query("SELECT COUNT() FROM Opportunity")["totalSize"] == 3
    finally:
        srv.stop()


def test_custom_fields_are_only_those_listed() -> None:
    srv = start({})
    try:
        sf = client(srv)
        with pytest.raises(SalesforceMalformedRequest) as caught:
            sf.query("SELECT Id, Pipeline_Stale__c FROM Opportunity")
        assert error_of(caught)["errorCode"] == "INVALID_FIELD"
        assert sf.query("SELECT COUNT() FROM Opportunity")["totalSize"] == 0
        assert sf.query("SELECT COUNT() FROM OpportunityStage")["totalSize"] == 10
    finally:
        srv.stop()


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Id, Foo__c FROM Opportunity", "INVALID_FIELD"),
        ("SELECT Id FROM Opportunityz", "INVALID_TYPE"),
        ("SELECT Id FROM", "MALFORMED_QUERY"),
    ],
)
def test_soql_errors_are_400_with_the_soql_code(world: SandboxServer, soql: str, code: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        client(world).query(soql)
    assert caught.value.status == 400
    assert error_of(caught)["errorCode"] == code


def test_stages_are_queryable_with_their_defaults(world: SandboxServer) -> None:
    rows = client(world).query(
        "SELECT MasterLabel, DefaultProbability, ForecastCategoryName, IsClosed, IsWon "
        "FROM OpportunityStage ORDER BY SortOrder"
    )["records"]
    assert [r["MasterLabel"] for r in rows][:3] == [
        "Prospecting",
        "Qualification",
        "Needs Analysis",
    ]
    assert [
        (r["DefaultProbability"], r["ForecastCategoryName"], r["IsClosed"], r["IsWon"])
        for r in rows[-2:]
    ] == [(100.0, "Closed", True, True), (0.0, "Omitted", True, False)]


# -- describe and record GET ----------------------------------------------------------------
def test_opportunity_describe(world: SandboxServer) -> None:
    described = client(world).Opportunity.describe()
    assert (described["name"], described["keyPrefix"], described["queryable"]) == (
        "Opportunity",
        "006",
        True,
    )
    fields = {f["name"]: f for f in described["fields"]}
    assert [p["value"] for p in fields["StageName"]["picklistValues"]] == [
        "Prospecting",
        "Qualification",
        "Needs Analysis",
        "Value Proposition",
        "Id. Decision Makers",
        "Perception Analysis",
        "Proposal/Price Quote",
        "Negotiation/Review",
        "Closed Won",
        "Closed Lost",
    ]
    assert fields["AccountId"]["referenceTo"] == ["Account"]
    assert fields["AccountId"]["relationshipName"] == "Account"
    assert fields["OwnerId"]["relationshipName"] == "Owner"
    assert (fields["IsWon"]["type"], fields["IsWon"]["updateable"]) == ("boolean", False)
    stale = fields["Pipeline_Stale__c"]
    assert (stale["type"], stale["custom"], stale["updateable"], stale["nillable"]) == (
        "boolean",
        True,
        True,
        False,
    )
    reason = fields["Pipeline_Stale_Reason__c"]
    assert (reason["type"], reason["length"]) == ("string", 255)
    assert fields["Pipeline_Stale_Since__c"]["type"] == "date"
    assert fields["Amount"]["type"] == "currency"
    assert fields["Probability"]["type"] == "percent"


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("OpportunityHistory", "PrevAmount"),
        ("OpportunityStage", "DefaultProbability"),
        ("User", "Email"),
        ("Account", "Industry"),
        ("CurrencyType", "ConversionRate"),
    ],
)
def test_other_objects_describe(world: SandboxServer, name: str, field: str) -> None:
    described = getattr(client(world), name).describe()
    assert described["name"] == name
    assert field in {f["name"] for f in described["fields"]}


def test_unknown_object_describe_is_404(world: SandboxServer) -> None:
    with pytest.raises(SalesforceResourceNotFound) as caught:
        client(world).Contract.describe()
    assert error_of(caught)["errorCode"] == "NOT_FOUND"


def test_record_get_and_deleted_record(world: SandboxServer) -> None:
    sf = client(world)
    record = sf.Opportunity.get(ACME_PILOT)
    assert (record["Name"], record["Pipeline_Stale__c"], record["CurrencyIsoCode"]) == (
        "Acme pilot",
        False,
        "EUR",
    )
    assert record["CreatedDate"] == "2026-05-01T09:00:00.000+0000"
    with pytest.raises(SalesforceResourceNotFound) as caught:
        sf.Opportunity.get(DELETED)
    assert error_of(caught)["errorCode"] == "ENTITY_IS_DELETED"


# -- paging (generated org) -------------------------------------------------------------------
def test_default_page_is_2000_with_a_query_locator(generated: SandboxServer) -> None:
    sf = client(generated)
    total = sf.query("SELECT COUNT() FROM Opportunity")["totalSize"]
    first = sf.query("SELECT Id FROM Opportunity")
    assert total > 2000
    assert (first["totalSize"], first["done"], len(first["records"])) == (total, False, 2000)
    assert re.fullmatch(
        r"/services/data/v59\.0/query/01g[A-Za-z0-9]{15}-2000", first["nextRecordsUrl"]
    )
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert second["done"] is True
    assert "nextRecordsUrl" not in second
    assert len(second["records"]) == total - 2000


def test_query_all_with_batch_size_returns_every_record_once(generated: SandboxServer) -> None:
    sf = client(generated)
    total = sf.query("SELECT COUNT() FROM Opportunity")["totalSize"]
    sf.session.paths.clear()  # type: ignore[attr-defined]
    rows = sf.query_all(
        "SELECT Id FROM Opportunity", headers={"Sforce-Query-Options": "batchSize=500"}
    )["records"]
    ids = [r["Id"] for r in rows]
    assert len(ids) == total
    assert len(set(ids)) == total
    assert len(sf.session.paths) == math.ceil(total / 500)  # type: ignore[attr-defined]


def test_query_all_cursor_says_query_and_serves_both_paths(generated: SandboxServer) -> None:
    sf = client(generated)
    total = sf.query("SELECT COUNT() FROM Opportunity", include_deleted=True)["totalSize"]
    first = sf.query("SELECT Id FROM Opportunity", include_deleted=True)
    assert first["totalSize"] == total
    assert "/query/" in first["nextRecordsUrl"]
    locator = first["nextRecordsUrl"].rsplit("/", 1)[1]
    via_query = sf.query_more(locator)
    via_query_all = sf.query_more(locator, include_deleted=True)
    assert via_query["records"] == via_query_all["records"]
    ids = {r["Id"] for r in first["records"]} | {r["Id"] for r in via_query["records"]}
    assert len(ids) == total


def test_deleted_opportunities_exist_only_in_query_all(generated: SandboxServer) -> None:
    sf = client(generated)
    live = sf.query("SELECT COUNT() FROM Opportunity")["totalSize"]
    every = sf.query("SELECT COUNT() FROM Opportunity", include_deleted=True)["totalSize"]
    deleted = sf.query(
        "SELECT COUNT() FROM Opportunity WHERE IsDeleted = true", include_deleted=True
    )["totalSize"]
    assert deleted > 0
    assert every == live + deleted
    assert sf.query("SELECT COUNT() FROM Opportunity WHERE IsDeleted = true")["totalSize"] == 0


@pytest.mark.parametrize("locator", ["01gAAAAAAAAAAAAAAA-2000", "garbage", "01g5g0000000001AAA-x"])
def test_unknown_locator_is_invalid_query_locator(generated: SandboxServer, locator: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        client(generated).query_more(locator)
    assert error_of(caught) == {
        "message": "invalid query locator",
        "errorCode": "INVALID_QUERY_LOCATOR",
    }


def test_oldest_cursor_is_released_after_ten(generated: SandboxServer) -> None:
    sf = client(generated)
    first = sf.query("SELECT Id FROM Opportunity")["nextRecordsUrl"]
    for _ in range(10):
        sf.query("SELECT Id FROM Opportunity")
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query_more(first, identifier_is_url=True)
    assert error_of(caught)["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_global_describe_versions_and_resources(world: SandboxServer) -> None:
    sf = client(world)
    names = {o["name"] for o in sf.describe()["sobjects"]}
    assert names == {
        "Opportunity",
        "OpportunityHistory",
        "OpportunityStage",
        "User",
        "Account",
        "CurrencyType",
    }
    basic = sf.Opportunity.metadata()
    assert basic["objectDescribe"]["keyPrefix"] == "006"
    assert sf.restful("")["query"] == "/services/data/v59.0/query"
    http = CountingSession(world)
    versions = http.get(world.url + "/services/data/").json()
    assert {"label": "v59.0", "url": "/services/data/v59.0", "version": "59.0"} in versions


def test_id_and_parent_filters_match_a_full_scan(generated: SandboxServer) -> None:
    sf = client(generated)
    ids = [r["Id"] for r in sf.query("SELECT Id FROM Opportunity ORDER BY Id LIMIT 300")["records"]]
    picked = ids[::7]
    quoted = ", ".join(f"'{i}'" for i in picked)
    by_id = sf.query(f"SELECT Id FROM Opportunity WHERE Id IN ({quoted}) AND IsWon = false")
    scanned = [i for i in ids if i in set(picked)]
    won = {r["Id"] for r in sf.query("SELECT Id FROM Opportunity WHERE IsWon = true")["records"]}
    assert sorted(r["Id"] for r in by_id["records"]) == sorted(set(scanned) - won)
    fields = "Id, OpportunityId, StageName, CreatedDate"
    indexed = sf.query_all(
        f"SELECT {fields} FROM OpportunityHistory WHERE OpportunityId IN ({quoted}) "
        "ORDER BY OpportunityId, CreatedDate"
    )["records"]
    every = sf.query_all(
        f"SELECT {fields} FROM OpportunityHistory ORDER BY OpportunityId, CreatedDate"
    )
    expected = [r for r in every["records"] if r["OpportunityId"] in set(picked)]
    assert indexed == expected
    assert len({r["OpportunityId"] for r in indexed}) == len(picked)
