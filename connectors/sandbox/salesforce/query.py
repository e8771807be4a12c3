"""REST SOQL query: `/query/?q=`, `/queryAll/?q=` and their cursors (`nextRecordsUrl`).

A query runs once; its matching records are kept server-side under a locator, so later
pages cost only their projection (and an Opportunity page read again, a join of kept JSON:
page_json.py). The next page of an Opportunity cursor is rendered in the background while
the client reads the current one (page_prefetch.py). Real Salesforce says `/query/` in
nextRecordsUrl even for queryAll, and serves a locator under both paths.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from connectors.sandbox.after_response import after_response
from connectors.sandbox.api import Request, Response
from connectors.sandbox.salesforce import soql
from connectors.sandbox.salesforce.errors import ApiError
from connectors.sandbox.salesforce.ids import make_ids
from connectors.sandbox.salesforce.page_json import KEPT_OBJECTS, PageWriter
from connectors.sandbox.salesforce.page_prefetch import Prefetcher, PrefetchSlot, ReadyPage
from connectors.sandbox.salesforce.soql_parser import Compare, InList, Logic
from connectors.sandbox.salesforce.state import INDEXED, OrgState, Record

DEFAULT_BATCH = 2000
MIN_BATCH, MAX_BATCH = 200, 2000
MAX_CURSORS = 10  # a user has at most 10 open query cursors; the oldest is released
_BATCH = re.compile(r"batchSize\s*=\s*(\d+)", re.IGNORECASE)
_LOCATOR = re.compile(r"^(01g[A-Za-z0-9]{15})-(\d+)$")


@dataclass
class Cursor:
    """The records a query matched, for its later pages."""

    query: soql.SoqlQuery
    rows: list[Record]
    batch_size: int
    locator: str | None = None
    ahead: PrefetchSlot = field(default_factory=PrefetchSlot)  # its next page, rendered ahead

    @property
    def renders_ahead(self) -> bool:
        """Whether a write can change its pages only by moving a record's SystemModstamp
        (page_prefetch.py): Opportunity records, no relationship in the projection."""
        return self.query.object_name in KEPT_OBJECTS and all(
            isinstance(item, str) for item in self.query.projection
        )


def batch_size(request: Request) -> int:
    """The page size from `Sforce-Query-Options: batchSize=N` (clamped to 200-2000)."""
    match = _BATCH.search(request.headers.get("sforce-query-options", ""))
    if not match:
        return DEFAULT_BATCH
    return max(MIN_BATCH, min(MAX_BATCH, int(match.group(1))))


def candidate_rows(
    state: OrgState, query: soql.SoqlQuery, *, include_deleted: bool
) -> Iterable[Record]:
    """The records a query may match: deleted ones only for queryAll, and only those an
    `Id` or indexed-field `=`/`IN` term of the WHERE clause names, when it has one."""
    narrowed = _narrowed(state, query)
    rows = state.table(query.object_name).values() if narrowed is None else narrowed
    if include_deleted:
        return rows
    return (row for row in rows if not row.get("IsDeleted"))


def _narrowed(state: OrgState, query: soql.SoqlQuery) -> list[Record] | None:
    """Records picked through the id map or an index by a top-level AND term, else None."""
    where = query.where
    terms = where.items if isinstance(where, Logic) and where.op == "AND" else (where,)
    for term in terms:
        if isinstance(term, InList) and not term.negate:
            keys: tuple[object, ...] = term.values
        elif isinstance(term, Compare) and term.op == "=":
            keys = (term.value,)
        else:
            continue
        if term.path.hops:
            continue
        name = term.path.field.name
        if name == "Id":
            table = state.table(query.object_name)
            return [table[k] for k in dict.fromkeys(keys) if k in table]  # type: ignore[index]
        if (query.object_name, name) in INDEXED:
            return state.rows_by(query.object_name, name, keys)
    return None


def parse(state: OrgState, text: str) -> soql.SoqlQuery:
    """Parse `text`; SOQL errors become the API's 400."""
    try:
        return soql.parse(text, state.objects)
    except soql.SoqlError as error:
        raise ApiError(400, error.error_code, error.message) from None


def run(
    state: OrgState, text: str | soql.SoqlQuery, *, include_deleted: bool
) -> tuple[soql.SoqlQuery, list[Record]]:
    """Parse (unless parsed) and execute `text`; SOQL errors become the API's 400."""
    query = parse(state, text) if isinstance(text, str) else text
    with state.lock:
        rows = soql.execute(
            query,
            candidate_rows(state, query, include_deleted=include_deleted),
            objects=state.objects,
            lookup=state.lookup,
        )
    return query, rows


class Cursors:
    """Open query cursors by locator id, the oldest dropped past MAX_CURSORS."""

    def __init__(self, *, on_release: Callable[[Cursor], None] | None = None) -> None:
        self._open: OrderedDict[str, Cursor] = OrderedDict()
        self._lock = threading.Lock()
        self._counter = 0
        self._on_release = on_release

    def add(self, cursor: Cursor) -> str:
        """Keep `cursor`; returns its locator id (`01g…`)."""
        released = []
        with self._lock:
            self._counter += 1
            locator = make_ids("01g", self._counter, 1)[0]
            cursor.locator = locator
            self._open[locator] = cursor
            while len(self._open) > MAX_CURSORS:
                released.append(self._open.popitem(last=False)[1])
        if self._on_release is not None:
            for old in released:
                self._on_release(old)
        return locator

    def get(self, locator: str) -> Cursor | None:
        """The open cursor `locator`, or None."""
        with self._lock:
            cursor = self._open.get(locator)
            if cursor is not None:
                self._open.move_to_end(locator)
            return cursor


class QueryResource:
    """`GET /query`, `/queryAll` and `/query/<locator>` for one org."""

    def __init__(self, state: OrgState) -> None:
        self.state = state
        self.pages = PageWriter()
        self.ahead = Prefetcher(self._render_ahead)
        self.cursors = Cursors(on_release=lambda cursor: self.ahead.release(cursor.ahead))

    def handle(self, request: Request, *, rest: str, version: str) -> Response:
        """Answer `rest` = `query`, `queryAll`, optionally followed by `/<locator>`."""
        if request.method not in {"GET", "HEAD"}:
            raise ApiError(
                405,
                "METHOD_NOT_ALLOWED",
                f"HTTP Method '{request.method}' not allowed. Allowed are GET,HEAD",
            )
        resource, _, locator = rest.partition("/")
        if locator:
            return self._next_page(locator, version=version)
        text = request.param("q")
        if text is None or not text.strip():
            raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
        query, rows = run(self.state, text, include_deleted=resource == "queryAll")
        if query.is_count:
            return Response.json(200, {"totalSize": len(rows), "done": True, "records": []})
        size = batch_size(request)
        cursor = Cursor(query=query, rows=rows, batch_size=size)
        locator_id = self.cursors.add(cursor) if len(rows) > size else None
        return self._page(cursor, locator_id, 0, version=version)

    def _next_page(self, locator: str, *, version: str) -> Response:
        """A later page of an open cursor."""
        match = _LOCATOR.match(locator)
        cursor = self.cursors.get(match.group(1)) if match else None
        if match is None or cursor is None or int(match.group(2)) > len(cursor.rows):
            raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(cursor, match.group(1), int(match.group(2)), version=version)

    def _page(
        self, cursor: Cursor, locator_id: str | None, start: int, *, version: str
    ) -> Response:
        """The page of `cursor` from `start` (rendered ahead when it was and no record of it
        was written since); then the next page is rendered ahead."""
        stop = start + cursor.batch_size
        body: bytes | None = None
        ahead = cursor.renders_ahead and locator_id is not None
        if ahead:
            ready = self.ahead.take(cursor.ahead, start=start, version=version)
            if ready is not None:
                with self.state.lock:
                    if ready.still_valid(cursor.rows[start:stop]):
                        body = ready.body
        if body is None:
            body = self._render(cursor, locator_id, start, version=version)
        if ahead and stop < len(cursor.rows):
            slot = cursor.ahead
            after_response(lambda: self.ahead.schedule(cursor, slot, start=stop, version=version))
        return Response(200, body, {"Content-Type": "application/json;charset=UTF-8"})

    def _render_ahead(self, cursor: Cursor, start: int, version: str) -> ReadyPage | None:
        """The worker's render of a page of `cursor` (page_prefetch.Renderer): its records'
        stamps are taken under the org's lock, the page is built without it (a write meanwhile
        moves a stamp, so the page is then refused when served)."""
        stop = start + cursor.batch_size
        rows = cursor.rows[start:stop]
        with self.state.lock:
            stamps = tuple(row.get("SystemModstamp") for row in rows)
            self.pages.mark_served(self._page_key(cursor, start))
        body: dict[str, Any] = {"totalSize": len(cursor.rows), "done": stop >= len(cursor.rows)}
        if not body["done"]:
            body["nextRecordsUrl"] = f"/services/data/v{version}/query/{cursor.locator}-{stop}"
        body["records"] = soql.project_page(
            cursor.query, rows, lookup=self.state.lookup, api_version=version
        )
        data = Response.json(200, body).body
        return ReadyPage(start=start, version=version, stamps=stamps, body=data)

    @staticmethod
    def _page_key(cursor: Cursor, start: int) -> tuple[Any, ...]:
        """A page's name for PageWriter."""
        return (cursor.query.soql, start, cursor.batch_size, len(cursor.rows))

    def _render(self, cursor: Cursor, locator_id: str | None, start: int, *, version: str) -> bytes:
        """The JSON of the page of `cursor` from `start`, as the API sends it."""
        stop = start + cursor.batch_size
        state = self.state
        body: dict[str, Any] = {"totalSize": len(cursor.rows), "done": stop >= len(cursor.rows)}
        if not body["done"]:
            body["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator_id}-{stop}"
        rows = cursor.rows[start:stop]
        with state.lock:
            data = self.pages.page(
                body,
                cursor.query,
                rows,
                lookup=state.lookup,
                api_version=version,
                page_key=self._page_key(cursor, start),
            )
            if data is None:
                body["records"] = soql.project_page(
                    cursor.query, rows, lookup=state.lookup, api_version=version
                )
        if data is not None:
            return data
        return Response.json(200, body).body
