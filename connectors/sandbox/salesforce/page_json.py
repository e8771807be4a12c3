"""REST query pages read again, as JSON bytes joined from each Opportunity's kept JSON.

Projecting and serializing a page of 2,000 records costs ~15 ms; once a page has been served,
its next reads cost a join of kept bytes. Keeping costs ~3 ms a page, so a page is kept only
when it is read a second time (a retry after a fault, a second extract, a benchmark). A kept
record is reused only while its `SystemModstamp` is the very object it was serialized with:
every write to an Opportunity assigns a new stamp (writes.py), so a write makes its next read
serialize afresh. Only Opportunity records are kept (history rows are flagged deleted in
place, without a new stamp) and only projections without relationships (a parent may change
while the child's stamp stays). The bytes are those `Response.json` would write.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Sequence
from typing import Any

import orjson

from connectors.sandbox.salesforce import soql
from connectors.sandbox.salesforce.soql import Lookup, SoqlQuery

KEPT_OBJECTS = frozenset({"Opportunity"})
MAX_KEPT_RECORDS = 50_000  # per field list: ~40 MB of a 23-field extract
MAX_FIELD_LISTS = 8
MAX_SERVED_PAGES = 4096  # pages remembered as served once
# As api.Response.json: orjson, with the types the stdlib writes differently passed to
# `default`, which refuses them so that the caller falls back to Response.json.
_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS
)
# Records' own bytes: `date` values (left by project_page's keep_dates) written by orjson as
# `YYYY-MM-DD`, exactly json_value's text; datetimes never reach it (project_page formats
# every column holding one), nor time objects (no Salesforce field holds one).
_WITH_DATES = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS
_SEPARATOR = b'},{"attributes":'  # between two records: never inside a JSON string, whose
# quotes are escaped
_FIRST = b'[{"attributes":'


def _refuse(value: Any) -> Any:
    raise TypeError(type(value).__name__)


class PageWriter:
    """Serializes query pages read again, keeping the JSON of their Opportunity records."""

    def __init__(self, *, max_records: int = MAX_KEPT_RECORDS) -> None:
        self.max_records = max_records
        # field list -> record Id -> (SystemModstamp, the record's JSON less its first
        # `{"attributes":` and its last `}`: records join with _SEPARATOR)
        self._kept: OrderedDict[tuple[Any, ...], dict[Any, tuple[Any, bytes]]] = OrderedDict()
        self._served: OrderedDict[Hashable, None] = OrderedDict()

    def page(
        self,
        head: dict[str, Any],
        query: SoqlQuery,
        rows: Sequence[dict[str, Any]],
        *,
        lookup: Lookup,
        api_version: str,
        page_key: Hashable = None,
    ) -> bytes | None:
        """The JSON of `head` with `"records"` (the projected `rows`) appended, as
        `Response.json({**head, "records": ...})` writes it. None, for the caller to use
        Response.json, on the first read of `page_key` (a name for the page, which is kept
        from its second read on; None: from the first), for records not kept here, or when
        orjson cannot write a value as the standard library would. Call with the org's lock
        held."""
        if query.object_name not in KEPT_OBJECTS or not all(
            isinstance(item, str) for item in query.projection
        ):
            return None
        if page_key is not None and not self._seen(page_key):
            return None
        try:
            start = orjson.dumps(head, default=_refuse, option=_OPTIONS)[:-1]
        except TypeError:
            return None
        if not rows:
            return start + b',"records":[]}'
        records = self._records(query, rows, lookup=lookup, api_version=api_version)
        if records is None:
            return None
        return b"".join((start, b',"records":[{"attributes":', _SEPARATOR.join(records), b"}]}"))

    def mark_served(self, page_key: Hashable) -> None:
        """Count `page_key` as served once (rendered elsewhere: page_prefetch.py), so that its
        next read through `page` keeps its records. Call with the org's lock held."""
        self._seen(page_key)

    def _seen(self, page_key: Hashable) -> bool:
        """Whether `page_key` was served before (and remember it was)."""
        if page_key in self._served:
            self._served.move_to_end(page_key)
            return True
        self._served[page_key] = None
        while len(self._served) > MAX_SERVED_PAGES:
            self._served.popitem(last=False)
        return False

    def _records(
        self, query: SoqlQuery, rows: Sequence[dict[str, Any]], *, lookup: Lookup, api_version: str
    ) -> list[bytes] | None:
        """Each record's JSON (less its ends), kept ones reused and fresh ones kept."""
        key = (api_version, query.object_name, query.projection)
        kept = self._kept.get(key)
        if kept is None:
            kept = self._kept[key] = {}
            while len(self._kept) > MAX_FIELD_LISTS:
                self._kept.popitem(last=False)
        else:
            self._kept.move_to_end(key)
        ids = [row.get("Id") for row in rows]
        stamps = [row.get("SystemModstamp") for row in rows]
        entries = list(map(kept.get, ids))
        out: list[bytes | None] = [
            None if entry is None or entry[0] is not stamp else entry[1]
            for entry, stamp in zip(entries, stamps, strict=True)
        ]
        missing = [index for index, data in enumerate(out) if data is None]
        if not missing:
            return out  # type: ignore[return-value]
        if len(missing) == len(rows):
            fresh = _serialize(query, rows, lookup=lookup, api_version=api_version)
            if fresh is None:
                return None
            out = fresh  # type: ignore[assignment]
        else:
            fresh = _serialize(
                query, [rows[i] for i in missing], lookup=lookup, api_version=api_version
            )
            if fresh is None:
                return None
            for index, data in zip(missing, fresh, strict=True):
                out[index] = data
        if len(kept) + len(missing) > self.max_records:
            kept.clear()  # a crude but O(1) eviction: the next reads keep afresh
        kept.update((ids[i], (stamps[i], out[i])) for i in missing)
        return out  # type: ignore[return-value]


def _serialize(
    query: SoqlQuery, rows: Sequence[dict[str, Any]], *, lookup: Lookup, api_version: str
) -> list[bytes] | None:
    """Each record's JSON less its first `{"attributes":` and last `}` (one orjson call
    for the lot, split between records)."""
    records = soql.project_page(
        query, rows, lookup=lookup, api_version=api_version, keep_dates=True
    )
    try:
        body = orjson.dumps(records, default=_refuse, option=_WITH_DATES)
    except TypeError:
        return None
    parts = body[len(_FIRST) : -2].split(_SEPARATOR)
    if body.startswith(_FIRST) and len(parts) == len(records):
        return parts
    # Cannot happen (see _SEPARATOR; records start with their attributes); stay correct.
    single = [orjson.dumps(record, default=_refuse, option=_WITH_DATES) for record in records]
    return [data[len(_FIRST) - 1 : -1] for data in single]
