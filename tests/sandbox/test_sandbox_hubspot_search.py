"""HubSpot sandbox search: operators, groups, sorts, paging, limits and the 10,000-result cap."""

from __future__ import annotations

import json

import pytest
from hubspot.crm.deals.exceptions import ApiException


def _ids(client, *filters: dict, groups: list | None = None, **extra) -> list[str]:
    body = {
        "filterGroups": groups if groups is not None else [{"filters": list(filters)}],
        "limit": 100,
        **extra,
    }
    return [d.id for d in client.crm.deals.search_api.do_search(body).results]


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"propertyName": "amount", "operator": "GT", "value": "1000"}, ["9001", "9002"]),
        ({"propertyName": "amount", "operator": "LTE", "value": "300"}, ["9003"]),
        (
            {"propertyName": "amount", "operator": "BETWEEN", "value": "500", "highValue": "1200"},
            ["9001"],
        ),
        ({"propertyName": "amount", "operator": "HAS_PROPERTY"}, ["9001", "9002", "9003"]),
        ({"propertyName": "amount", "operator": "NOT_HAS_PROPERTY"}, ["9005"]),
        ({"propertyName": "dealstage", "operator": "EQ", "value": "closedwon"}, ["9002"]),
        (
            {"propertyName": "dealstage", "operator": "NEQ", "value": "closedwon"},
            ["9001", "9003", "9005"],
        ),
        (
            {"propertyName": "dealstage", "operator": "IN", "values": ["closedwon", "closedlost"]},
            ["9002", "9003"],
        ),
        (
            {"propertyName": "dealstage", "operator": "NOT_IN", "values": ["appointmentscheduled"]},
            ["9001", "9002", "9003"],
        ),
        (
            {"propertyName": "dealname", "operator": "CONTAINS_TOKEN", "value": "acme"},
            ["9001", "9003"],
        ),
        (
            {"propertyName": "dealname", "operator": "NOT_CONTAINS_TOKEN", "value": "acme"},
            ["9002", "9005"],
        ),
        ({"propertyName": "dealname", "operator": "CONTAINS_TOKEN", "value": "glob*"}, ["9002"]),
        (
            {
                "propertyName": "hs_lastmodifieddate",
                "operator": "GTE",
                "value": "1779235200000",
            },  # 2026-05-20
            ["9001", "9002", "9005"],
        ),
        (
            {
                "propertyName": "hs_lastmodifieddate",
                "operator": "LT",
                "value": "2026-05-20T10:00:00Z",
            },
            ["9003"],
        ),
        (
            {
                "propertyName": "hs_lastmodifieddate",
                "operator": "GT",
                "value": "2026-05-20T10:00:00Z",
            },
            ["9002", "9005"],
        ),
        (
            {"propertyName": "hs_lastmodifieddate", "operator": "LTE", "value": "1779271200000"},
            ["9001", "9003"],
        ),
        ({"propertyName": "hs_is_closed_won", "operator": "EQ", "value": "true"}, ["9002"]),
        ({"propertyName": "pipeline_stale", "operator": "EQ", "value": "true"}, ["9005"]),
    ],
)
def test_operators(world_sandbox, hubspot_client, flt: dict, expected: list[str]) -> None:
    assert sorted(_ids(hubspot_client(world_sandbox), flt)) == expected


def test_groups_are_ored_and_filters_anded(world_sandbox, hubspot_client) -> None:
    client = hubspot_client(world_sandbox)
    owner_101 = {"propertyName": "hubspot_owner_id", "operator": "EQ", "value": "101"}
    big = {"propertyName": "amount", "operator": "GTE", "value": "1000"}
    won = {"propertyName": "dealstage", "operator": "EQ", "value": "closedwon"}
    assert _ids(client, owner_101, big) == ["9001"]
    assert sorted(_ids(client, groups=[{"filters": [owner_101, big]}, {"filters": [won]}])) == [
        "9001",
        "9002",
    ]


def test_sorts_in_object_and_string_form(world_sandbox, hubspot_client) -> None:
    client = hubspot_client(world_sandbox)
    by_amount = _ids(
        client, groups=[], sorts=[{"propertyName": "amount", "direction": "DESCENDING"}]
    )
    assert by_amount == ["9002", "9001", "9003", "9005"]  # numeric, not text order; null last
    assert _ids(client, groups=[], sorts=["hs_lastmodifieddate"]) == [
        "9003",
        "9001",
        "9005",
        "9002",
    ]


def test_search_results_have_no_history_or_associations(world_sandbox, hubspot_client) -> None:
    found = hubspot_client(world_sandbox).crm.deals.search_api.do_search(
        {"filterGroups": [], "properties": ["dealname"], "limit": 1}
    )
    assert found.total == 4
    assert found.results[0].properties["dealname"] == "Acme pilot"
    assert found.results[0].properties_with_history is None
    assert found.paging.next.after == "1"


def test_search_paging_returns_each_match_once(sandbox, hubspot_client) -> None:
    client = hubspot_client(sandbox)
    body = {
        "filterGroups": [
            {"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": "0"}]}
        ],
        "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
        "limit": 37,
    }
    seen, stamps, after = [], [], None
    while True:
        page = client.crm.deals.search_api.do_search(body | ({"after": after} if after else {}))
        seen += [d.id for d in page.results]
        stamps += [d.properties["hs_lastmodifieddate"] for d in page.results]
        if not page.paging:
            break
        after = page.paging.next.after
    live = [d.id for d in client.crm.deals.get_all()]
    assert sorted(seen) == sorted(live)
    assert len(seen) == len(set(seen)) == page.total
    assert stamps == sorted(stamps)


def _error(world_sandbox, hubspot_client, body: dict) -> dict:
    with pytest.raises(ApiException) as caught:
        hubspot_client(world_sandbox).crm.deals.search_api.do_search(body)
    assert caught.value.status == 400
    return json.loads(caught.value.body)


def test_paging_past_10000_is_400(world_sandbox, hubspot_client) -> None:
    body = _error(
        world_sandbox, hubspot_client, {"filterGroups": [], "after": "10000", "limit": 10}
    )
    assert body["category"] == "VALIDATION_ERROR"
    found = hubspot_client(world_sandbox).crm.deals.search_api.do_search(
        {"filterGroups": [], "after": "9999", "limit": 10}
    )
    assert found.results == []


@pytest.mark.parametrize(
    "body",
    [
        {"filterGroups": [], "limit": 201},
        {"filterGroups": [{"filters": []}] * 6},
        {
            "filterGroups": [
                {"filters": [{"propertyName": "amount", "operator": "HAS_PROPERTY"}] * 11}
            ]
        },
        {
            "filterGroups": [
                {"filters": [{"propertyName": "amount", "operator": "HAS_PROPERTY"}] * 9}
            ]
            * 3
        },
        {
            "filterGroups": [
                {"filters": [{"propertyName": "amount", "operator": "LIKE", "value": "1"}]}
            ]
        },
        {
            "filterGroups": [
                {"filters": [{"propertyName": "amount", "operator": "BETWEEN", "value": "1"}]}
            ]
        },
    ],
)
def test_bad_search_requests_are_400(world_sandbox, hubspot_client, body: dict) -> None:
    assert _error(world_sandbox, hubspot_client, body)["category"] == "VALIDATION_ERROR"
