"""The sandbox endpoints the e2e tests write through, as the real APIs behave: Salesforce
create and delete (recycle bin: queryAll still sees IsDeleted=true), HubSpot create, archive
and the v4 batch association read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hubspot.crm.deals.exceptions import ApiException
from simple_salesforce.exceptions import SalesforceResourceNotFound

pytestmark = pytest.mark.e2e

SF_OPEN = "006Aa0000000001IAA"


def test_salesforce_delete_moves_to_recycle_bin(
    make_sandbox: Callable[..., Any], world: Callable[..., dict[str, Any]], crm: Any
) -> None:
    server = make_sandbox(fixture=world(hubspot=False), apis=["salesforce"])
    sf = crm.salesforce(server)
    before = sf.Opportunity.get(SF_OPEN)["SystemModstamp"]
    assert sf.Opportunity.delete(SF_OPEN) == 204
    live = sf.query("SELECT Id FROM Opportunity")["records"]
    assert SF_OPEN not in {r["Id"] for r in live}
    gone = sf.query_all(
        f"SELECT Id, IsDeleted, SystemModstamp FROM Opportunity WHERE Id = '{SF_OPEN}'",
        include_deleted=True,
    )["records"]
    assert [(r["Id"], r["IsDeleted"]) for r in gone] == [(SF_OPEN, True)]
    assert gone[0]["SystemModstamp"] > before
    history = sf.query_all(
        f"SELECT Id, IsDeleted FROM OpportunityHistory WHERE OpportunityId = '{SF_OPEN}'",
        include_deleted=True,
    )["records"]
    assert len(history) == 2 and all(r["IsDeleted"] for r in history)
    with pytest.raises(SalesforceResourceNotFound) as error:
        sf.Opportunity.delete(SF_OPEN)
    assert "ENTITY_IS_DELETED" in str(error.value)
    assert [(e.field, e.old, e.new) for e in server.write_log.entries("salesforce")] == [
        ("IsDeleted", False, True)
    ]


def test_salesforce_create_derives_fields_and_history(
    make_sandbox: Callable[..., Any], world: Callable[..., dict[str, Any]], crm: Any
) -> None:
    server = make_sandbox(fixture=world(hubspot=False), apis=["salesforce"])
    sf = crm.salesforce(server)
    created = sf.Opportunity.create(
        {"Name": "New one", "StageName": "Value Proposition", "CloseDate": "2026-09-30",
         "Amount": 42.5, "CurrencyIsoCode": "EUR", "OwnerId": "005Aa0000000001IAA"}
    )  # fmt: skip
    assert created["success"] is True
    record = sf.Opportunity.get(created["id"])
    assert (record["IsClosed"], record["Probability"], record["ForecastCategoryName"]) == (
        False, 50.0, "Pipeline",
    )  # fmt: skip
    assert record["CreatedDate"] == record["SystemModstamp"]
    history = sf.query(
        f"SELECT StageName FROM OpportunityHistory WHERE OpportunityId = '{created['id']}'"
    )["records"]
    assert [r["StageName"] for r in history] == ["Value Proposition"]
    with pytest.raises(Exception, match="REQUIRED_FIELD_MISSING"):
        sf.Opportunity.create({"Name": "No stage", "CloseDate": "2026-09-30"})


def test_hubspot_create_archive_and_v4_associations(
    make_sandbox: Callable[..., Any], world: Callable[..., dict[str, Any]], crm: Any
) -> None:
    server = make_sandbox(fixture=world(salesforce=False), apis=["hubspot"])
    client = crm.hubspot(server)
    created = client.crm.deals.basic_api.create(
        {"properties": {"dealname": "New", "dealstage": "qualifiedtobuy", "amount": "10"},
         "associations": [{"to": {"id": "502"},
                           "types": [{"associationCategory": "HUBSPOT_DEFINED",
                                      "associationTypeId": 5}]}]}
    )  # fmt: skip
    assert int(created.id) == 9006  # next after the highest id
    read = client.crm.deals.basic_api.get_by_id(
        created.id, properties=["hs_is_closed", "hs_deal_stage_probability", "pipeline"]
    )
    assert read.properties["hs_is_closed"] == "false"
    assert read.properties["pipeline"] == "default"
    assert read.properties["hs_deal_stage_probability"].startswith("0.4")

    links = client.crm.associations.v4.batch_api.get_page(
        "deals", "companies", {"inputs": [{"id": created.id}, {"id": "9003"}]}
    )
    assert [(r._from.id, [str(t.to_object_id) for t in r.to]) for r in links.results] == [
        (created.id, ["502"])
    ]
    assert [t.type_id for t in links.results[0].to[0].association_types] == [5, 341]
    assert links.num_errors == 1  # 9003 has no company

    client.crm.deals.basic_api.archive("9001")
    listed = client.crm.deals.basic_api.get_page(limit=100)
    assert "9001" not in {d.id for d in listed.results}
    archived = client.crm.deals.basic_api.get_page(limit=100, archived=True)
    assert {d.id for d in archived.results} == {"9001", "9004"}
    assert next(d for d in archived.results if d.id == "9001").archived_at is not None
    found = client.crm.deals.search_api.do_search(
        {"filterGroups": [{"filters": [{"propertyName": "dealname", "operator": "EQ",
                                        "value": "Acme pilot"}]}]}
    )  # fmt: skip
    assert found.total == 0
    with pytest.raises(ApiException) as error:
        client.crm.deals.basic_api.get_by_id("9001")
    assert error.value.status == 404
