"""HubSpot sandbox writes: batch update (validation, effects, write log), PATCH, property create."""

from __future__ import annotations

import json

import pytest
from hubspot.crm.deals.exceptions import ApiException, NotFoundException
from hubspot.crm.properties.exceptions import ApiException as PropertiesApiException

PROBABILITY_1 = "1"


def _update(client, *inputs: tuple[str, dict]) -> object:
    return client.crm.deals.batch_api.update(
        {"inputs": [{"id": deal_id, "properties": props} for deal_id, props in inputs]}
    )


def test_write_then_read_and_the_write_log(world_sandbox, hubspot_client) -> None:
    client = hubspot_client(world_sandbox)
    reply = _update(
        client,
        (
            "9001",
            {
                "pipeline_stale": True,
                "pipeline_stale_since": "2026-06-01",
                "amount": 1250,
                "dealname": "Acme pilot",
            },
        ),
    )
    assert reply.results[0].properties["pipeline_stale"] == "true"
    deal = client.crm.deals.basic_api.get_by_id(
        "9001",
        properties=["pipeline_stale", "pipeline_stale_since", "amount", "hs_lastmodifieddate"],
    )
    assert deal.properties["pipeline_stale"] == "true"
    assert deal.properties["pipeline_stale_since"] == "2026-06-01"
    assert deal.properties["amount"] == "1250"
    assert deal.properties["hs_lastmodifieddate"] > "2026-05-20T10:00:00.000Z"
    logged = [
        (e.crm, e.object, e.record_id, e.field, e.old, e.new)
        for e in world_sandbox.write_log.entries()
    ]
    assert logged == [  # dealname was written with its current value: not a change
        ("hubspot", "deals", "9001", "pipeline_stale", None, "true"),
        ("hubspot", "deals", "9001", "pipeline_stale_since", None, "2026-06-01"),
        ("hubspot", "deals", "9001", "amount", "1200", "1250"),
    ]


def test_clearing_a_value_with_empty_string(world_sandbox, hubspot_client) -> None:
    client = hubspot_client(world_sandbox)
    _update(client, ("9005", {"pipeline_stale": "", "pipeline_stale_since": ""}))
    deal = client.crm.deals.basic_api.get_by_id(
        "9005", properties=["pipeline_stale", "pipeline_stale_since"]
    )
    assert deal.properties["pipeline_stale"] is None
    assert deal.properties["pipeline_stale_since"] is None


def test_stage_change_updates_history_and_derived_properties(world_sandbox, hubspot_client) -> None:
    client = hubspot_client(world_sandbox)
    _update(client, ("9001", {"dealstage": "closedwon"}))
    deal = client.crm.deals.basic_api.get_by_id(
        "9001",
        properties=[
            "hs_is_closed",
            "hs_is_closed_won",
            "hs_deal_stage_probability",
            "hs_v2_date_entered_closedwon",
            "hs_v2_date_exited_qualifiedtobuy",
            "hs_lastmodifieddate",
        ],
        properties_with_history=["dealstage"],
    )
    props = deal.properties
    assert (
        props["hs_is_closed"],
        props["hs_is_closed_won"],
        props["hs_deal_stage_probability"],
    ) == ("true", "true", PROBABILITY_1)
    assert props["hs_v2_date_entered_closedwon"] == props["hs_lastmodifieddate"]
    assert props["hs_v2_date_exited_qualifiedtobuy"] == props["hs_lastmodifieddate"]
    history = deal.properties_with_history["dealstage"]
    assert [h.value for h in history] == ["closedwon", "qualifiedtobuy", "appointmentscheduled"]
    found = client.crm.deals.search_api.do_search(
        {
            "filterGroups": [
                {"filters": [{"propertyName": "dealstage", "operator": "EQ", "value": "closedwon"}]}
            ]
        }
    )
    assert sorted(d.id for d in found.results) == ["9001", "9002"]


def _rejected(client, *inputs: tuple[str, dict], status: int = 400) -> dict:
    with pytest.raises(ApiException) as caught:
        _update(client, *inputs)
    assert caught.value.status == status
    return json.loads(caught.value.body)


@pytest.mark.parametrize(
    ("props", "error"),
    [
        ({"no_such_prop": "1"}, "PROPERTY_DOESNT_EXIST"),
        ({"hs_is_closed": "true"}, "READ_ONLY_VALUE"),
        ({"hs_lastmodifieddate": "2026-01-01T00:00:00Z"}, "READ_ONLY_VALUE"),
        ({"pipeline_stale_since": "2026-06-01T10:00:00Z"}, "INVALID_DATE"),
        ({"pipeline_stale": "yes"}, "INVALID_OPTION"),
        ({"amount": "a lot"}, "INVALID_FLOAT"),
        ({"dealstage": "renewal_won"}, "INVALID_OPTION"),
        ({"hubspot_owner_id": "999"}, "INVALID_OWNER_ID"),
    ],
)
def test_one_bad_input_rejects_the_whole_batch(world_sandbox, hubspot_client, props, error) -> None:
    client = hubspot_client(world_sandbox)
    body = _rejected(client, ("9002", {"dealname": "changed"}), ("9001", props))
    assert body["category"] == "VALIDATION_ERROR"
    assert f'"error":"{error}"' in body["message"]
    assert client.crm.deals.basic_api.get_by_id("9002").properties["dealname"] == "Globex renewal"
    assert world_sandbox.write_log.entries() == []


def test_midnight_date_in_epoch_ms_is_accepted(world_sandbox, hubspot_client) -> None:
    client = hubspot_client(world_sandbox)
    _update(client, ("9001", {"pipeline_stale_since": "1780272000000"}))  # 2026-06-01T00:00Z
    deal = client.crm.deals.basic_api.get_by_id("9001", properties=["pipeline_stale_since"])
    assert deal.properties["pipeline_stale_since"] == "2026-06-01"


def test_non_midnight_message_names_the_time(world_sandbox, hubspot_client) -> None:
    body = _rejected(
        hubspot_client(world_sandbox), ("9001", {"pipeline_stale_since": "2026-06-01T10:00:00Z"})
    )
    assert "is at 10:0:0.0 UTC, not midnight!" in body["message"]


@pytest.mark.parametrize("deal_id", ["424242", "9004"])  # unknown, archived
def test_unknown_or_archived_id_fails_the_whole_batch(
    world_sandbox, hubspot_client, deal_id
) -> None:
    client = hubspot_client(world_sandbox)
    with pytest.raises(NotFoundException) as caught:
        _update(client, ("9001", {"dealname": "x"}), (deal_id, {"dealname": "y"}))
    body = json.loads(caught.value.body)
    assert body["category"] == "OBJECT_NOT_FOUND"
    assert body["context"] == {"ids": [deal_id]}
    assert world_sandbox.write_log.entries() == []


def test_batch_limits_and_duplicates(world_sandbox, hubspot_client) -> None:
    client = hubspot_client(world_sandbox)
    assert "Too many inputs" in _rejected(client, *[("9001", {})] * 101)["message"]
    assert "Duplicate IDs" in _rejected(client, ("9001", {}), ("9001", {}))["message"]


def test_patch_single_deal(world_sandbox, hubspot_client) -> None:
    client = hubspot_client(world_sandbox)
    reply = client.crm.deals.basic_api.update(
        "9003", {"properties": {"description": "lost on price"}}
    )
    assert reply.properties["description"] == "lost on price"
    with pytest.raises(NotFoundException):
        client.crm.deals.basic_api.update("123", {"properties": {"description": "x"}})


def test_property_create_duplicate_and_bad_definitions(world_sandbox, hubspot_client) -> None:
    core = hubspot_client(world_sandbox).crm.properties.core_api
    definition = {
        "name": "pipeline_stale_reason",
        "label": "Stale reason",
        "type": "string",
        "fieldType": "text",
        "groupName": "dealinformation",
    }
    created = core.create(object_type="deals", property_create=definition)
    assert (created.name, created.type, created.field_type) == (
        "pipeline_stale_reason",
        "string",
        "text",
    )
    assert (
        core.get_by_name(object_type="deals", property_name="pipeline_stale_reason").label
        == "Stale reason"
    )
    with pytest.raises(PropertiesApiException) as caught:
        core.create(object_type="deals", property_create=definition)
    assert caught.value.status == 409
    assert json.loads(caught.value.body)["category"] == "OBJECT_ALREADY_EXISTS"
    for bad in ({"type": "text"}, {"fieldType": "booleancheckbox"}, {"name": "Bad Name"}):
        with pytest.raises(PropertiesApiException) as caught:
            core.create(object_type="deals", property_create={**definition, "name": "other", **bad})
        assert caught.value.status == 400
    logged = {(e.object, e.record_id, e.field, e.new) for e in world_sandbox.write_log.entries()}
    assert ("properties", "pipeline_stale_reason", "type", "string") in logged
    client = hubspot_client(world_sandbox)
    _update(client, ("9001", {"pipeline_stale_reason": "stuck_in_stage: 47 days"}))
    assert (
        client.crm.deals.basic_api.get_by_id(
            "9001", properties=["pipeline_stale_reason"]
        ).properties["pipeline_stale_reason"]
        == "stuck_in_stage: 47 days"
    )
