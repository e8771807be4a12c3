"""HubSpot batch read limits: 50 inputs with propertiesWithHistory, 100 without."""

from __future__ import annotations

import json

import pytest
from hubspot.crm.deals.exceptions import ApiException

HISTORY_LIMIT_MESSAGE = (
    "The maximum number of inputs supported in a batch request for property histories is 50. "
    "Please reduce the number of items and try again"
)


def _inputs(count: int) -> list[dict[str, str]]:
    """`count` inputs: the world's deal 9001 first, then ids that do not exist."""
    return [{"id": "9001"}] + [{"id": str(70_000 + i)} for i in range(count - 1)]


def test_batch_read_with_history_refuses_51_inputs(world_sandbox, hubspot_client) -> None:
    batch = hubspot_client(world_sandbox).crm.deals.batch_api
    with pytest.raises(ApiException) as caught:
        batch.read(
            {
                "inputs": _inputs(51),
                "properties": ["dealname"],
                "propertiesWithHistory": ["dealstage"],
            }
        )
    assert caught.value.status == 400
    body = json.loads(caught.value.body)
    assert body["status"] == "error"
    assert body["category"] == "VALIDATION_ERROR"
    assert body["message"] == HISTORY_LIMIT_MESSAGE
    assert body["correlationId"]


def test_batch_read_with_history_takes_50_inputs(world_sandbox, hubspot_client) -> None:
    batch = hubspot_client(world_sandbox).crm.deals.batch_api
    result, status, _headers = batch.read_with_http_info(
        {"inputs": _inputs(50), "properties": ["dealname"], "propertiesWithHistory": ["dealstage"]}
    )
    assert status == 207  # 49 of the ids do not exist
    assert [r.id for r in result.results] == ["9001"]
    assert len(result.errors[0].context["ids"]) == 49
    assert [h.value for h in result.results[0].properties_with_history["dealstage"]] == [
        "qualifiedtobuy",
        "appointmentscheduled",
    ]


def test_batch_read_without_history_still_takes_100_inputs(world_sandbox, hubspot_client) -> None:
    batch = hubspot_client(world_sandbox).crm.deals.batch_api
    for history in ([], None):
        body = {"inputs": _inputs(100), "properties": ["dealname"]}
        if history is not None:
            body["propertiesWithHistory"] = history
        result, status, _headers = batch.read_with_http_info(body)
        assert status == 207
        assert [r.id for r in result.results] == ["9001"]
    with pytest.raises(ApiException) as caught:
        batch.read({"inputs": _inputs(101), "properties": ["dealname"]})
    assert caught.value.status == 400
    assert json.loads(caught.value.body)["message"] != HISTORY_LIMIT_MESSAGE
