"""The SOQL engine of the Salesforce sandbox: parse, execute, and shape records as the API.

Use: `query = parse(soql, objects)` (raises SoqlError with Salesforce's errorCode and message),
`rows = execute(query, records, objects=..., lookup=...)`, then `project(query, row, ...)` per
record for the REST JSON shape, or `csv_rows` / `project_csv_value` for Bulk API 2.0 CSV.
`len(rows)` is the totalSize of a `COUNT()` query (`query.is_count`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from itertools import repeat
from operator import itemgetter
from typing import Any

import numpy as np

from connectors.sandbox.salesforce.schema import ObjectDef
from connectors.sandbox.salesforce.soql_eval import execute, getter, range_hint
from connectors.sandbox.salesforce.soql_lexer import SoqlError
from connectors.sandbox.salesforce.soql_parser import Nested, SoqlQuery, parse

__all__ = [
    "SoqlError",
    "SoqlQuery",
    "csv_columns",
    "csv_header",
    "csv_rows",
    "execute",
    "format_datetime",
    "json_value",
    "parse",
    "project",
    "project_csv_value",
    "project_page",
    "projector",
    "range_hint",
]

Record = dict[str, Any]
Lookup = Callable[[str, str], Record | None]


def project(
    query: SoqlQuery,
    row: Record,
    *,
    objects: Mapping[str, ObjectDef],
    lookup: Lookup,
    api_version: str = "59.0",
) -> dict[str, Any]:
    """One record as the REST query API returns it: `attributes`, then the selected fields in
    order, relationships nested with their own `attributes` (null when the reference is)."""
    del objects  # the projection tree is resolved at parse time
    return projector(query, lookup=lookup, api_version=api_version)(row)


def projector(
    query: SoqlQuery, *, lookup: Lookup, api_version: str = "59.0"
) -> Callable[[Record], dict[str, Any]]:
    """`project` compiled once for a query: a function shaping each record, for pages of
    thousands of records (the field list and URL prefix are resolved once, not per record)."""
    prefix = f"/services/data/v{api_version}/sobjects/"
    return _compile(query.projection, query.object_name, lookup, prefix)


def _compile(
    items: tuple[str | Nested, ...], object_name: str, lookup: Lookup, prefix: str
) -> Callable[[Record], dict[str, Any]]:
    """A function shaping a record of `object_name` by projection `items`."""
    url = f"{prefix}{object_name}/"
    names = tuple(item for item in items if isinstance(item, str))
    if len(names) == len(items):
        plain = _PLAIN

        def shape(record: Record) -> dict[str, Any]:
            out: dict[str, Any] = {
                "attributes": {"type": object_name, "url": f"{url}{record.get('Id')}"}
            }
            get = record.get
            for name in names:
                value = get(name)
                out[name] = value if type(value) in plain else json_value(value)
            return out

        return shape
    parts = tuple(
        (item, None)
        if isinstance(item, str)
        else (item, _compile(item.items, item.target, lookup, prefix))
        for item in items
    )

    def shape_nested(record: Record) -> dict[str, Any]:
        out: dict[str, Any] = {
            "attributes": {"type": object_name, "url": f"{url}{record.get('Id')}"}
        }
        for item, nested in parts:
            if nested is None:
                out[item] = json_value(record.get(item))  # type: ignore[index]
                continue
            ref = record.get(item.reference_field)  # type: ignore[union-attr]
            parent = lookup(item.target, ref) if ref is not None else None  # type: ignore[union-attr]
            out[item.relationship] = None if parent is None else nested(parent)  # type: ignore[union-attr]
        return out

    return shape_nested


# Value types REST JSON carries as they are (json_value would return them unchanged).
_PLAIN = frozenset({str, int, float, bool, type(None)})
_TEMPORAL = frozenset({date, datetime, type(None)})
_DATES = frozenset({date, type(None)})


def project_page(
    query: SoqlQuery,
    rows: Sequence[Record],
    *,
    lookup: Lookup,
    api_version: str = "59.0",
    keep_dates: bool = False,
) -> list[dict[str, Any]]:
    """`project` of every record of a page, the same dicts, built column by column: values are
    read with one C call per record, and only columns holding dates or datetimes are
    converted (datetimes formatted in one numpy pass), so a 2,000-record page costs a few
    milliseconds. Projections with relationships go record by record. With `keep_dates`,
    columns of dates (no datetimes) keep their `date` values, for a serializer that writes
    them as `json_value` would (orjson: `YYYY-MM-DD`)."""
    items = query.projection
    if not rows or not items or not all(isinstance(item, str) for item in items):
        shape = projector(query, lookup=lookup, api_version=api_version)
        return [shape(row) for row in rows]
    names: tuple[str, ...] = items  # type: ignore[assignment]
    read = itemgetter(*names) if len(names) > 1 else _single(names[0])
    try:
        values = [read(row) for row in rows]
    except KeyError:  # a record lacking a field reads null, as `record.get` does
        values = [tuple(row.get(name) for name in names) for row in rows]
    columns = [list(column) for column in zip(*values, strict=True)]
    texts: dict[Any, Any] = {None: None}  # each distinct date/datetime formatted once a page
    for index, column in enumerate(columns):
        kinds = set(map(type, column))
        if kinds <= _PLAIN:
            continue
        if keep_dates and kinds <= _DATES:
            continue
        if kinds <= _TEMPORAL:
            _format_temporal(set(column).difference(texts), texts)
            columns[index] = list(map(texts.__getitem__, column))
        else:
            columns[index] = [v if type(v) in _PLAIN else json_value(v) for v in column]
    url = f"/services/data/v{api_version}/sobjects/{query.object_name}/"
    object_name = query.object_name
    ids = columns[names.index("Id")] if "Id" in names else [row.get("Id") for row in rows]
    attributes = [{"type": object_name, "url": f"{url}{record_id}"} for record_id in ids]
    rows_values = zip(attributes, *columns, strict=True)
    return list(map(dict, map(zip, repeat(("attributes", *names)), rows_values)))


def _single(name: str) -> Callable[[Record], tuple[Any]]:
    """A reader of one field as a 1-tuple (itemgetter of one name returns the bare value)."""
    return lambda row: (row[name],)


def _format_temporal(values: set[Any], texts: dict[Any, Any]) -> None:
    """Add `json_value` of each date and datetime of `values` to `texts`; UTC datetimes are
    formatted together in numpy."""
    stamps = [v for v in values if type(v) is datetime and v.tzinfo is UTC]
    for value in values:
        if type(value) is not datetime or value.tzinfo is not UTC:
            texts[value] = json_value(value)
    if not stamps:
        return
    # Epoch microseconds are exact in float64 until the year 2255; floor to milliseconds.
    micros = np.round(np.fromiter((v.timestamp() for v in stamps), np.float64, len(stamps))
                      * 1e6).astype(np.int64)  # fmt: skip
    formatted = np.datetime_as_string((micros // 1000).astype("datetime64[ms]"), unit="ms")
    texts.update(zip(stamps, np.char.add(formatted, "+0000").tolist(), strict=True))


def json_value(value: Any) -> Any:
    """A record value as REST JSON carries it: datetimes `2024-05-01T12:00:00.000+0000`,
    dates `YYYY-MM-DD`, numbers, booleans, strings and null as they are."""
    if isinstance(value, datetime):
        return format_datetime(value, "+0000")
    if isinstance(value, date):
        return value.isoformat()
    return value


def format_datetime(value: datetime, zone: str) -> str:
    """`value` in UTC with milliseconds, followed by `zone` ("+0000" for REST, "Z" for CSV)."""
    if value.tzinfo is UTC:  # the common case, in C: `...T12:00:00.000+00:00` less its offset
        return value.isoformat(timespec="milliseconds")[:-6] + zone
    if value.utcoffset():
        value = value.astimezone(UTC)
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:"
        f"{value.minute:02d}:{value.second:02d}.{value.microsecond // 1000:03d}{zone}"
    )


def project_csv_value(value: Any) -> str:
    """A record value as a Bulk API 2.0 CSV cell: null empty, `true`/`false`, datetimes
    `2024-05-01T12:00:00.000Z`, dates `YYYY-MM-DD`."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_datetime(value, "Z")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def csv_header(query: SoqlQuery) -> list[str]:
    """The CSV header of a Bulk query: the selected paths, relationships dotted (`Owner.Name`)."""
    return list(query.fields)


def csv_columns(query: SoqlQuery, rows: Sequence[Record], *, lookup: Lookup) -> list[list[str]]:
    """The cells of `csv_rows` as a list per column: each distinct date or datetime is
    formatted once (UTC datetimes in one numpy pass), strings pass as they are."""
    columns: list[list[str]] = []
    for path in query.paths:
        column = list(map(getter(path, lookup), rows))
        kinds = set(map(type, column))
        if kinds <= _CSV_TEXT:
            columns.append(["" if value is None else value for value in column])
            continue
        if len(kinds & _NUMBERS) > 1:  # 1, 1.0 and True are one dict key, not one cell
            columns.append(list(map(project_csv_value, column)))
            continue
        texts: dict[Any, str] = {None: ""}
        distinct = set(column).difference(texts)
        stamps = [v for v in distinct if type(v) is datetime and v.tzinfo is UTC]
        if stamps:
            micros = np.round(np.fromiter((v.timestamp() for v in stamps), np.float64,
                                          len(stamps)) * 1e6).astype(np.int64)  # fmt: skip
            formatted = np.datetime_as_string((micros // 1000).astype("datetime64[ms]"), unit="ms")
            texts.update(zip(stamps, np.char.add(formatted, "Z").tolist(), strict=True))
        for value in distinct.difference(stamps):
            texts[value] = project_csv_value(value)
        columns.append(list(map(texts.__getitem__, column)))
    return columns


_CSV_TEXT = frozenset({str, type(None)})
_NUMBERS = frozenset({bool, int, float})


def csv_rows(query: SoqlQuery, rows: Iterable[Record], *, lookup: Lookup) -> Iterator[list[str]]:
    """The CSV cells of each record, in `csv_header` order (reads compiled once per call)."""
    getters = [getter(path, lookup) for path in query.paths]
    for row in rows:
        yield [project_csv_value(get(row)) for get in getters]
