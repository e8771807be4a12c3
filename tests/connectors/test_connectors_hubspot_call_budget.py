"""How many calls a HubSpot sync spends: history batch reads of 50, a cheap archived pass on
incremental syncs, and a reconciliation id list served by the full listing that preceded it."""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def _count_ops(connector: Any) -> collections.Counter[str]:
    """Count the transport calls of `connector` by operation name, from now on."""
    counts: collections.Counter[str] = collections.Counter()
    transport = connector._transport
    original = transport.call

    def counting(op: str, *args: Any, **kwargs: Any) -> Any:
        counts[op] += 1
        return original(op, *args, **kwargs)

    transport.call = counting
    return counts


def _state(server: Any) -> Any:
    return server.apis["hubspot"].state


def test_incremental_archived_pass_lists_ids_and_reads_only_recent_archives(
    hubspot_sandbox: Callable[..., Any], hubspot_connector: Callable[..., Any]
) -> None:
    server = hubspot_sandbox(deals=400, seed=5)
    state = _state(server)
    archived = [state.deals[str(i)] for i in state.archived_ids]
    assert len(archived) >= 3, "the generated portal should hold archived deals"
    # A cursor after every archive but the two latest: only those are read whole.
    stamps = sorted(d.archived_at for d in archived)
    cursor = stamps[-2]
    recent = {d.id for d in archived if d.archived_at >= cursor}
    connector = hubspot_connector(server, search_lookback_seconds=0)
    ops = _count_ops(connector)
    pages = list(connector.deals_since(cursor))
    read_archived = [d for p in pages for d in p.deals if d.get("archived")]
    assert {str(d["id"]) for d in read_archived} == recent
    for deal in read_archived:  # read whole: properties, history and archivedAt
        assert deal["propertiesWithHistory"]["dealstage"]
        assert deal["properties"]["dealstage"] == state.deals[str(deal["id"])].props["dealstage"]
        assert deal["archivedAt"] == state.deals[str(deal["id"])].archived_at
    history = connector.flatten_history([h for p in pages for h in p.history])
    assert recent <= set(history["source_id"])
    # ids only, 100 a page; then one batch read (archived=true, with history) for the two
    id_pages = -(-len(archived) // 100)
    assert ops["list archived deal ids"] == id_pages
    assert ops["list archived deals"] == 0
    live_reads = sum(1 for p in pages for d in p.deals if not d.get("archived"))
    assert ops["batch read deals"] == 1 + -(-live_reads // 50)


def test_history_batch_reads_take_50_ids_a_call(
    hubspot_sandbox: Callable[..., Any], hubspot_connector: Callable[..., Any]
) -> None:
    server = hubspot_sandbox(deals=260, seed=2)
    state = _state(server)
    connector = hubspot_connector(server)
    ops = _count_ops(connector)
    live = [str(i) for i in state.active_ids][:120]
    read = connector._deals.batch_read(live, properties=["dealname"], history=True)
    assert sorted(str(d["id"]) for d in read) == sorted(live)
    assert all(d["propertiesWithHistory"]["dealstage"] for d in read)
    assert ops["batch read deals"] == 3  # 50 + 50 + 20, HubSpot's limit with history
    plain = connector._deals.batch_read(live, properties=["dealname"])
    assert len(plain) == 120 and ops["batch read deals"] == 3 + 2  # 100 + 20 without


def test_reconciliation_ids_come_from_the_full_listing_once(
    hubspot_sandbox: Callable[..., Any], hubspot_connector: Callable[..., Any]
) -> None:
    server = hubspot_sandbox(deals=230, seed=4)
    state = _state(server)
    live = sorted(str(i) for i in state.active_ids)
    connector = hubspot_connector(server)
    list(connector.deals_since(None))
    before = connector.api_calls
    pages = list(connector.deal_ids())
    assert connector.api_calls == before  # no second listing
    assert sorted(i for page in pages for i in page) == live
    assert max(len(page) for page in pages) == 100
    # Once only: the next id list asks HubSpot again, 100 a page.
    assert sorted(i for page in connector.deal_ids() for i in page) == live
    assert connector.api_calls == before + -(-len(live) // 100)


def test_an_abandoned_or_incremental_listing_leaves_no_ids(
    hubspot_sandbox: Callable[..., Any], hubspot_connector: Callable[..., Any]
) -> None:
    server = hubspot_sandbox(deals=230, seed=4)
    live = sorted(str(i) for i in _state(server).active_ids)
    connector = hubspot_connector(server)
    listing = connector.deals_since(None)
    next(listing)  # the consumer stops after one page (a failed load, say)
    listing.close()
    before = connector.api_calls
    assert sorted(i for page in connector.deal_ids() for i in page) == live
    assert connector.api_calls > before
    fresh = hubspot_connector(server, listed_ids_max_age_seconds=0)
    list(fresh.deals_since(None))
    before = fresh.api_calls
    assert sorted(i for page in fresh.deal_ids() for i in page) == live
    assert fresh.api_calls > before  # remembering is switched off
