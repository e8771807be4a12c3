"""Deal pages of one HubSpot portal: first-sync listing, windowed search, archived pass.

- First sync (cursor None): list every deal (`GET /crm/v3/objects/deals`, 50 a page, with
  `propertiesWithHistory=dealstage` and `associations=companies`). The listing is ordered by
  id, not by modification, so only the last page carries a cursor: the latest
  hs_lastmodifieddate seen, capped at the sync's start (a deal changed during the listing is
  then read again by the next sync).
- Later syncs: search on hs_lastmodifieddate from (cursor - lookback) to the sync's start, in
  windows kept under the 10,000-result cap (`hubspot_windows`), 200 a page, ascending. Search
  results carry no history or associations, so each page's ids are batch-read (POST, 50 a
  call) with the dealstage history, and their companies come from the v4 batch associations
  API (POST, 100 ids a call), rendered in the v3 inline shape; a portal that answers 404 there
  (the sandbox, today) gets one `GET /crm/v3/objects/deals/{id}?associations=companies` per
  deal instead. Each page carries the cursor reached (the latest stamp of its search results).
- Archived deals: the API cannot filter archived deals by date, so every sync lists them
  all (`archived=true`) and keeps those archived at or after (cursor - lookback), all of them
  on a first sync, with their dealstage history; they are marked `archived` and flattened with
  is_deleted True. A first sync lists them with their history (50 a page: each one is kept);
  a later one lists only their ids and `archivedAt` (100 a page) and batch-reads the few it
  keeps with their history (50 a call, archived=true), instead of re-reading every archived
  deal's history on every run. This pass runs first, before any page moves the cursor, so a
  run that fails half-way never skips an archived deal.
- Batch reads with `propertiesWithHistory` take at most 50 ids a call (HubSpot refuses more:
  "The maximum number of inputs supported in a batch request for property histories is 50").
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from connectors.base import DealPage
from connectors.hubspot_flatten import history_payload
from connectors.hubspot_properties import merge_properties, split_for_query
from connectors.hubspot_settings import HubSpotSettings
from connectors.hubspot_transport import HubSpotApiError, Reply
from connectors.hubspot_windows import (
    Window,
    WindowAction,
    WindowQueue,
    format_epoch_ms,
    initial_windows,
    to_epoch_ms,
)

logger = logging.getLogger(__name__)

MODSTAMP = "hs_lastmodifieddate"
PRIMARY_TYPE_ID = 5


class CallApi(Protocol):
    """Runs one client method (`api` dotted path, `method` name) through the transport."""

    def __call__(self, op: str, api: str, method: str, **kwargs: Any) -> Reply: ...


def next_after(body: Mapping[str, Any]) -> str | None:
    after = ((body.get("paging") or {}).get("next") or {}).get("after")
    return str(after) if after not in (None, "") else None


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _v4_companies(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """v4 association rows as the v3 inline `associations.companies` shape."""
    results = []
    for row in rows:
        types = row.get("associationTypes") or []
        primary = any(t.get("typeId") == PRIMARY_TYPE_ID for t in types)
        results.append(
            {
                "id": str(row.get("toObjectId")),
                "type": "deal_to_company" if primary else "deal_to_company_unlabeled",
                "associationTypes": types,
            }
        )
    return {"companies": {"results": results}}


class DealExtractor:
    """Reads deal pages through `call`; `properties` gives the deal properties to request."""

    def __init__(
        self,
        *,
        call: CallApi,
        settings: HubSpotSettings,
        properties: Callable[[], list[str]],
    ) -> None:
        self._call = call
        self.settings = settings
        self._properties = properties
        self._v4_batch = True  # until a portal (the sandbox) answers 404 for it

    def deals_since(self, cursor: str | None, *, started_ms: int) -> Iterator[DealPage]:
        """Deals changed at or after `cursor` (all when None), archived ones marked deleted."""
        lookback_ms = round(self.settings.search_lookback_seconds * 1000)
        cursor_ms: int | None = None
        if cursor is not None:
            cursor_ms = to_epoch_ms(cursor)
            if cursor_ms is None:
                raise ValueError(f"{self.source}: cursor {cursor!r} is not an ISO-8601 time")
        since_ms = None if cursor_ms is None else max(cursor_ms - lookback_ms, 0)
        yield from self._archived_since(since_ms)
        if cursor_ms is None:
            yield from self._list_all(started_ms)
        else:
            yield from self._search_since(cursor_ms, since_ms or 0, started_ms)

    def _list_all(self, started_ms: int) -> Iterator[DealPage]:
        in_query, rest = split_for_query(
            self._properties(), max_chars=self.settings.max_properties_query_chars
        )
        after: str | None = None
        max_ms: int | None = None
        while True:
            reply = self._call(
                "list deals",
                "crm.deals.basic_api",
                "get_page",
                limit=self.settings.history_page_size,
                after=after,
                properties=in_query,
                properties_with_history=["dealstage"],
                associations=["companies"],
                archived=False,
            )
            deals = list(reply.body["results"])
            if rest and deals:
                extra = self.batch_read([str(d["id"]) for d in deals], properties=rest)
                deals = merge_properties(deals, {str(d["id"]): d["properties"] for d in extra})
            for deal in deals:
                ms = to_epoch_ms((deal.get("properties") or {}).get(MODSTAMP))
                if ms is not None and (max_ms is None or ms > max_ms):
                    max_ms = ms
            after = next_after(reply.body)
            cursor = None
            if after is None and max_ms is not None:
                cursor = format_epoch_ms(min(max_ms, started_ms))
            yield DealPage(deals, [history_payload(d) for d in deals], cursor)
            if after is None:
                return

    def _archived_since(self, since_ms: int | None) -> Iterator[DealPage]:
        if since_ms is None:
            yield from self._archived_all()
        else:
            yield from self._archived_recently(since_ms)

    def _archived_all(self) -> Iterator[DealPage]:
        """Every archived deal with its dealstage history (a first sync keeps them all)."""
        in_query, _ = split_for_query(
            self._properties(), max_chars=self.settings.max_properties_query_chars
        )
        after: str | None = None
        while True:
            # With their dealstage history, or a deal archived before its first sync would
            # load without stays, stage or closed_at (a full sync would differ from the
            # incremental one that saw it live).
            reply = self._call(
                "list archived deals",
                "crm.deals.basic_api",
                "get_page",
                limit=self.settings.history_page_size,
                after=after,
                properties=in_query,
                properties_with_history=["dealstage"],
                archived=True,
            )
            kept = list(reply.body["results"])
            for deal in kept:
                deal["archived"] = True
            if kept:
                yield DealPage(kept, [history_payload(d) for d in kept], None)
            after = next_after(reply.body)
            if after is None:
                return

    def id_pages(self, *, archived: bool) -> Iterator[list[dict[str, Any]]]:
        """Live (or archived) deals listed with no properties but their id, a page at a time."""
        what = "list archived deal ids" if archived else "list deal ids"
        after: str | None = None
        while True:
            reply = self._call(
                what,
                "crm.deals.basic_api",
                "get_page",
                limit=self.settings.list_page_size,
                after=after,
                properties=["hs_object_id"],
                archived=archived,
            )
            yield reply.body["results"]
            after = next_after(reply.body)
            if after is None:
                return

    def _archived_recently(self, since_ms: int) -> Iterator[DealPage]:
        """Deals archived at or after `since_ms`: ids listed cheaply, the kept ones read whole."""
        for results in self.id_pages(archived=True):
            archived_at = {
                str(d["id"]): d.get("archivedAt")
                for d in results
                if (to_epoch_ms(d.get("archivedAt")) or 0) >= since_ms
            }
            if archived_at:
                deals = self.batch_read(
                    list(archived_at), properties=self._properties(), history=True, archived=True
                )
                for deal in deals:
                    deal["archived"] = True
                    if not deal.get("archivedAt"):
                        deal["archivedAt"] = archived_at.get(str(deal["id"]))
                if deals:
                    yield DealPage(deals, [history_payload(d) for d in deals], None)

    def _search(self, filters: list[dict[str, Any]], *, sort: str, after: str) -> Reply:
        request = {
            "filterGroups": [{"filters": filters}],
            "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
            "properties": [MODSTAMP, "hs_object_id"],
            "limit": self.settings.search_page_size,
            "after": after,
        }
        return self._call(
            "search deals",
            "crm.deals.search_api",
            "do_search",
            public_object_search_request=request,
        )

    def _search_since(self, cursor_ms: int, lo: int, started_ms: int) -> Iterator[DealPage]:
        span_ms = max(round(self.settings.search_window_seconds * 1000), 1)
        cap = self.settings.search_max_results
        queue = WindowQueue(initial_windows(lo, started_ms, span_ms=span_ms), cap=cap)
        reached = cursor_ms
        while queue:
            window = queue.pop()
            for results in self._window_pages(window, queue):
                if not results:
                    continue
                stamps = [to_epoch_ms((r.get("properties") or {}).get(MODSTAMP)) for r in results]
                known = [s for s in stamps if s is not None]
                if known:
                    reached = max(reached, min(max(known), window.hi))
                deals = self._read_full([str(r["id"]) for r in results])
                yield DealPage(deals, [history_payload(d) for d in deals], format_epoch_ms(reached))

    def _window_pages(self, window: Window, queue: WindowQueue) -> Iterator[list[dict[str, Any]]]:
        filters = [
            {"propertyName": MODSTAMP, "operator": "GTE", "value": str(window.lo)},
            {"propertyName": MODSTAMP, "operator": "LTE", "value": str(window.hi)},
        ]
        reply = self._search(filters, sort=MODSTAMP, after="0")
        action = queue.settle(window, int(reply.body.get("total") or 0))
        if action is WindowAction.SPLIT:
            return
        if action is WindowAction.BY_ID:
            yield from self._instant_pages(window.lo)
            return
        while True:
            results = list(reply.body["results"])
            yield results
            after = next_after(reply.body)
            if after is None:
                return
            if after.isdigit() and int(after) + self.settings.search_page_size > queue.cap:
                # The window grew past the cap while paging: read its rest as a new window.
                last = to_epoch_ms((results[-1].get("properties") or {}).get(MODSTAMP))
                queue.push_front(Window(last if last is not None else window.lo, window.hi))
                return
            reply = self._search(filters, sort=MODSTAMP, after=after)

    def _instant_pages(self, instant_ms: int) -> Iterator[list[dict[str, Any]]]:
        """Every deal modified in one millisecond, paged on hs_object_id (no offset cap)."""
        last_id = "0"
        while True:
            filters = [
                {"propertyName": MODSTAMP, "operator": "EQ", "value": str(instant_ms)},
                {"propertyName": "hs_object_id", "operator": "GT", "value": last_id},
            ]
            reply = self._search(filters, sort="hs_object_id", after="0")
            results = list(reply.body["results"])
            if not results:
                return
            yield results
            last_id = str(results[-1]["id"])

    def batch_read(
        self,
        ids: Sequence[str],
        *,
        properties: Sequence[str],
        history: bool = False,
        archived: bool = False,
    ) -> list[dict[str, Any]]:
        """Deals by id, 100 a call (50 with history); ids HubSpot does not have (207) are absent.

        `archived` reads archived deals instead of live ones.
        """
        size = self.settings.history_batch_size if history else self.settings.batch_size
        found: list[dict[str, Any]] = []
        for chunk in chunks(list(dict.fromkeys(ids)), size):
            request = {
                "inputs": [{"id": i} for i in chunk],
                "properties": list(properties),
                "propertiesWithHistory": ["dealstage"] if history else [],
            }
            reply = self._call(
                "batch read deals",
                "crm.deals.batch_api",
                "read",
                batch_read_input_simple_public_object_id=request,
                archived=archived,
            )
            found.extend(reply.body["results"])
        return found

    def _companies_of(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Deal id -> v3-shaped company associations (v4 batch API, else one GET per deal)."""
        if self._v4_batch:
            try:
                return self._companies_v4(ids)
            except HubSpotApiError as exc:
                if exc.status != 404:
                    raise
                logger.warning(
                    "%s: the v4 batch associations API is not served here (404); reading "
                    "companies one deal at a time instead (one call per deal)",
                    self.settings.base_url,
                )
                self._v4_batch = False
        return self._companies_per_deal(ids)

    def _companies_v4(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        by_deal: dict[str, dict[str, Any]] = {}
        for chunk in chunks(list(ids), self.settings.batch_size):
            reply = self._call(
                "read deal companies",
                "crm.associations.v4.batch_api",
                "get_page",
                from_object_type="deals",
                to_object_type="companies",
                batch_input_public_fetch_associations_batch_request={
                    "inputs": [{"id": i} for i in chunk]
                },
            )
            for row in reply.body["results"]:
                deal_id = str((row.get("from") or {}).get("id"))
                by_deal[deal_id] = _v4_companies(row.get("to") or [])
        return by_deal

    def _companies_per_deal(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        by_deal: dict[str, dict[str, Any]] = {}
        for deal_id in ids:
            try:
                reply = self._call(
                    "read deal companies",
                    "crm.deals.basic_api",
                    "get_by_id",
                    expect_results=False,
                    deal_id=deal_id,
                    properties=["hs_object_id"],
                    associations=["companies"],
                    archived=False,
                )
            except HubSpotApiError as exc:
                if exc.status == 404:
                    continue  # archived since the batch read: the archived pass will see it
                raise
            by_deal[deal_id] = reply.body.get("associations") or {"companies": {"results": []}}
        return by_deal

    def _read_full(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """Deals with history and companies, in the order of `ids`."""
        deals = self.batch_read(ids, properties=self._properties(), history=True)
        companies = self._companies_of([str(d["id"]) for d in deals])
        by_id = {}
        for deal in deals:
            deal_id = str(deal["id"])
            deal["associations"] = companies.get(deal_id, {"companies": {"results": []}})
            by_id[deal_id] = deal
        return [by_id[i] for i in dict.fromkeys(ids) if i in by_id]
