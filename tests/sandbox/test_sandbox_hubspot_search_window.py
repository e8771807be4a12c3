"""HubSpot searches on hs_lastmodifieddate alone, answered from the modification index: the same
totals, pages and paging as visiting every deal, including the lagging index and writes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from connectors.sandbox.api import WriteLog
from connectors.sandbox.hubspot.generate import generate_state
from connectors.sandbox.hubspot.search import LAG_MS, search_deals
from connectors.sandbox.hubspot.state import HubSpotState
from connectors.sandbox.hubspot.writes import batch_update


@pytest.fixture(scope="module")
def portal() -> HubSpotState:
    return generate_state(deals=600, seed=8)


def _search(state: HubSpotState, body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("lag", False)
    kwargs.setdefault("now", 0)
    response = search_deals(state, body, **kwargs)
    assert response.status == 200, response.body
    return json.loads(response.body)


def _body(filters: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"filterGroups": [{"filters": filters}], "properties": ["hs_object_id"], **extra}


def _live(state: HubSpotState) -> list[tuple[int, int]]:
    """(modified ms, id) of every live deal, computed from the deals themselves."""
    return sorted((d.modified_ms, int(d.id)) for d in state.deals.values() if not d.archived)


@pytest.mark.parametrize(
    ("sort", "after", "limit"),
    [
        ({"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}, "0", 100),
        ({"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}, "100", 100),
        ({"propertyName": "hs_lastmodifieddate", "direction": "DESCENDING"}, "30", 50),
        ("-hs_lastmodifieddate", "140", 50),  # past the end: empty, no paging
        (None, "10", 25),  # no sort: by id
    ],
)
def test_a_modstamp_range_pages_like_a_full_visit(
    portal: HubSpotState, sort: Any, after: str, limit: int
) -> None:
    live = _live(portal)
    low, high = live[len(live) * 3 // 4][0], live[-20][0]
    matching = [key for key in live if low <= key[0] < high]
    if sort is None:
        expected = sorted(deal_id for _ms, deal_id in matching)
    else:
        descending = (sort if isinstance(sort, str) else sort["direction"]).startswith(("-", "D"))
        expected = [deal_id for _ms, deal_id in (matching[::-1] if descending else matching)]
    filters = [
        {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": str(low)},
        {"propertyName": "hs_lastmodifieddate", "operator": "LT", "value": str(high)},
    ]
    extra = {"after": after, "limit": limit, **({"sorts": [sort]} if sort else {})}
    found = _search(portal, _body(filters, **extra))
    start = int(after)
    assert found["total"] == len(matching) > 100
    assert [int(r["id"]) for r in found["results"]] == expected[start : start + limit]
    more = start + limit < len(matching)
    assert ("paging" in found) is more
    if more:
        assert found["paging"]["next"]["after"] == str(start + limit)


def test_the_lagging_index_misses_the_last_seconds(portal: HubSpotState) -> None:
    live = _live(portal)
    newest = live[-1][0]
    since = live[-40][0]
    filters = [{"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": str(since)}]
    body = _body(filters, limit=200, sorts=[{"propertyName": "hs_lastmodifieddate"}])
    now = newest + LAG_MS - 1  # the newest deal was modified 4.999 s ago: not indexed yet
    found = _search(portal, body, lag=True, now=now)
    expected = [i for ms, i in live if since <= ms <= now - LAG_MS]
    assert [int(r["id"]) for r in found["results"]] == expected
    assert (
        found["total"]
        == len(expected)
        == len([k for k in live if k[0] >= since]) - sum(1 for ms, _ in live if ms == newest)
    )


def test_an_update_moves_the_deal_to_the_end_of_the_range() -> None:
    state = generate_state(deals=200, seed=9)
    live = _live(state)
    moved = str(live[0][1])
    since = live[-10][0]
    filters = [{"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": str(since)}]
    body = _body(filters, limit=100, sorts=[{"propertyName": "hs_lastmodifieddate"}])
    before = _search(state, body)
    assert moved not in [r["id"] for r in before["results"]]
    update = {"inputs": [{"id": moved, "properties": {"amount": "4321"}}]}
    assert batch_update(state, update, WriteLog()).status == 200
    after = _search(state, body)
    assert after["total"] == before["total"] + 1
    assert [r["id"] for r in after["results"]] == [r["id"] for r in before["results"]] + [moved]


def test_other_filters_and_sorts_still_visit_the_deals(portal: HubSpotState) -> None:
    live = _live(portal)
    since = live[len(live) // 2][0]
    stage_filter = {"propertyName": "dealstage", "operator": "EQ", "value": "closedwon"}
    filters = [
        {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": str(since)},
        stage_filter,
    ]
    found = _search(portal, _body(filters, limit=200, sorts=["hs_lastmodifieddate"]))
    expected = [
        i
        for ms, i in live
        if ms >= since and portal.deals[str(i)].props["dealstage"] == "closedwon"
    ]
    assert [int(r["id"]) for r in found["results"]] == expected and expected
    by_amount = _search(
        portal,
        _body(filters[:1], limit=5, sorts=[{"propertyName": "amount", "direction": "DESCENDING"}]),
    )
    amounts = [
        float(portal.deals[r["id"]].props.get("amount", "nan")) for r in by_amount["results"]
    ]
    assert amounts == sorted(amounts, reverse=True)
    assert by_amount["total"] == len([k for k in live if k[0] >= since])
