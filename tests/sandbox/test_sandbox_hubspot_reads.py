"""HubSpot sandbox reads through the real hubspot-api-client: deals, batch read, metadata."""

from __future__ import annotations

import json

import pytest
from hubspot.crm.deals.exceptions import ApiException, NotFoundException
from hubspot.crm.properties.exceptions import NotFoundException as PropertyNotFound

DEFAULT_NAMES = {
    "amount",
    "closedate",
    "createdate",
    "dealname",
    "dealstage",
    "hs_lastmodifieddate",
    "hs_object_id",
    "pipeline",
}


def test_list_defaults_and_unknown_properties(world_sandbox, hubspot_client) -> None:
    deals = hubspot_client(world_sandbox).crm.deals
    page = deals.basic_api.get_page(limit=2)
    assert [d.id for d in page.results] == ["9001", "9002"]
    assert set(page.results[0].properties) == DEFAULT_NAMES
    assert page.results[0].properties["amount"] == "1200"
    assert page.results[0].properties["closedate"] == "2026-07-31T00:00:00.000Z"
    assert page.paging.next.after == "9003"
    asked = deals.basic_api.get_page(
        limit=1, properties=["dealname,no_such_prop", "hubspot_owner_id"]
    )
    assert asked.results[0].properties == {
        "createdate": "2026-05-01T09:00:00.000Z",
        "hs_lastmodifieddate": "2026-05-20T10:00:00.000Z",
        "hs_object_id": "9001",
        "dealname": "Acme pilot",
        "hubspot_owner_id": "101",
    }


def test_known_property_without_value_is_null(world_sandbox, hubspot_client) -> None:
    deal = hubspot_client(world_sandbox).crm.deals.basic_api.get_by_id(
        "9005", properties=["amount"]
    )
    assert deal.properties["amount"] is None


def test_get_all_returns_every_live_deal_once(world_sandbox, hubspot_client) -> None:
    ids = [d.id for d in hubspot_client(world_sandbox).crm.deals.get_all()]
    assert ids == ["9001", "9002", "9003", "9005"]


def test_paging_the_generated_world_returns_each_deal_exactly_once(sandbox, hubspot_client) -> None:
    deals = hubspot_client(sandbox).crm.deals.basic_api
    seen, after, pages = [], None, 0
    while True:
        page = deals.get_page(limit=100, after=after, archived=False)
        seen += [d.id for d in page.results]
        pages += 1
        if page.paging is None:
            break
        after = page.paging.next.after
    archived = [d.id for d in hubspot_client(sandbox).crm.deals.get_all(archived=True)]
    assert len(seen) == len(set(seen))
    assert set(seen).isdisjoint(archived)
    assert len(seen) + len(archived) == 250
    assert pages == -(-len(seen) // 100)


def test_archived_lists_only_archived_deals(world_sandbox, hubspot_client) -> None:
    page = hubspot_client(world_sandbox).crm.deals.basic_api.get_page(archived=True)
    assert [d.id for d in page.results] == ["9004"]
    assert page.results[0].archived is True
    assert page.results[0].archived_at is not None


def test_history_is_newest_first_and_associations_inline(world_sandbox, hubspot_client) -> None:
    page = hubspot_client(world_sandbox).crm.deals.basic_api.get_page(
        limit=1, properties_with_history=["dealstage"], associations=["companies"]
    )
    history = page.results[0].properties_with_history["dealstage"]
    assert [h.value for h in history] == ["qualifiedtobuy", "appointmentscheduled"]
    assert history[0].timestamp.isoformat().startswith("2026-05-10T12:30:00")
    assert {a.id for a in page.results[0].associations["companies"].results} == {"501"}


@pytest.mark.parametrize(("limit", "history"), [(101, None), (51, ["dealstage"]), (0, None)])
def test_list_limits_are_enforced(world_sandbox, hubspot_client, limit, history) -> None:
    with pytest.raises(ApiException) as caught:
        hubspot_client(world_sandbox).crm.deals.basic_api.get_page(
            limit=limit, properties_with_history=history
        )
    assert caught.value.status == 400
    assert json.loads(caught.value.body)["category"] == "VALIDATION_ERROR"


def test_get_by_id_missing_is_not_found(world_sandbox, hubspot_client) -> None:
    with pytest.raises(NotFoundException) as caught:
        hubspot_client(world_sandbox).crm.deals.basic_api.get_by_id("9004")  # archived
    assert json.loads(caught.value.body)["category"] == "OBJECT_NOT_FOUND"


def test_batch_read_reports_missing_ids_with_207(world_sandbox, hubspot_client) -> None:
    batch = hubspot_client(world_sandbox).crm.deals.batch_api
    full = batch.read(
        {
            "inputs": [{"id": "9001"}, {"id": "9002"}],
            "properties": ["dealstage"],
            "propertiesWithHistory": ["dealstage"],
        }
    )
    assert sorted(r.properties["dealstage"] for r in full.results) == [
        "closedwon",
        "qualifiedtobuy",
    ]
    assert not hasattr(full, "errors") or not full.errors
    partial = batch.read_with_http_info(
        {"inputs": [{"id": "9001"}, {"id": "77"}], "properties": ["dealname"]}
    )
    result, status, _headers = partial
    assert status == 207
    assert [r.id for r in result.results] == ["9001"]
    assert result.errors[0].category == "OBJECT_NOT_FOUND"
    assert result.errors[0].context == {"ids": ["77"]}
    archived = batch.read({"inputs": [{"id": "9004"}], "properties": []}, archived=True)
    assert [r.id for r in archived.results] == ["9004"]


def test_batch_read_over_100_inputs_is_400(world_sandbox, hubspot_client) -> None:
    with pytest.raises(ApiException) as caught:
        hubspot_client(world_sandbox).crm.deals.batch_api.read(
            {"inputs": [{"id": str(i)} for i in range(101)], "properties": []}
        )
    assert caught.value.status == 400


def test_pipelines_have_string_metadata(world_sandbox, hubspot_client) -> None:
    pipelines = hubspot_client(world_sandbox).crm.pipelines.pipelines_api.get_all(
        object_type="deals"
    )
    stages = pipelines.results[0].stages
    assert [s.id for s in stages][:2] == ["appointmentscheduled", "qualifiedtobuy"]
    assert stages[0].metadata == {"isClosed": "false", "probability": "0.2"}
    assert stages[5].metadata == {"isClosed": "true", "probability": "1.0"}


def test_owners_page_with_trailing_slash_and_limits(world_sandbox, hubspot_client) -> None:
    owners = hubspot_client(world_sandbox).crm.owners.owners_api
    first = owners.get_page(limit=1)
    second = owners.get_page(limit=1, after=first.paging.next.after)
    assert [first.results[0].id, second.results[0].id] == ["101", "102"]
    assert second.paging is None
    assert [o.id for o in owners.get_page(archived=True).results] == ["103"]
    assert [o.id for o in owners.get_page(email="ben@example.com").results] == ["102"]
    from hubspot.crm.owners.exceptions import ApiException as OwnersApiException

    with pytest.raises(OwnersApiException) as caught:
        owners.get_page(limit=501)
    assert caught.value.status == 400


def test_companies_list_and_batch_read(world_sandbox, hubspot_client) -> None:
    companies = hubspot_client(world_sandbox).crm.companies
    page = companies.basic_api.get_page(properties=["name", "country"])
    assert [(c.id, c.properties["name"], c.properties["country"]) for c in page.results] == [
        ("501", "Acme", "Germany"),
        ("502", "Globex", None),
    ]
    batch = companies.batch_api.read({"inputs": [{"id": "502"}], "properties": ["industry"]})
    assert batch.results[0].properties["industry"] == "FINANCIAL_SERVICES"


def test_deal_properties_list_and_get(world_sandbox, hubspot_client) -> None:
    core = hubspot_client(world_sandbox).crm.properties.core_api
    names = {p.name for p in core.get_all(object_type="deals").results}
    assert {"dealname", "amount", "hs_v2_date_entered_closedwon", "pipeline_stale"} <= names
    assert "pipeline_stale_reason" not in names  # the fixture did not define it
    assert core.get_by_name(object_type="deals", property_name="pipeline_stale").type == "bool"
    with pytest.raises(PropertyNotFound):
        core.get_by_name(object_type="deals", property_name="pipeline_stale_reason")


def test_rate_limit_headers_count_down(world_sandbox, hubspot_client) -> None:
    api = hubspot_client(world_sandbox).crm.deals.basic_api
    _, _, first = api.get_page_with_http_info(limit=1)
    _, _, second = api.get_page_with_http_info(limit=1)
    assert first["X-HubSpot-RateLimit-Daily"] == "500000"
    assert first["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert (
        int(second["X-HubSpot-RateLimit-Daily-Remaining"])
        == int(first["X-HubSpot-RateLimit-Daily-Remaining"]) - 1
    )
    assert int(second["X-HubSpot-RateLimit-Remaining"]) < int(
        first["X-HubSpot-RateLimit-Remaining"]
    )
    assert first["X-HubSpot-RateLimit-Max"] == "190"
