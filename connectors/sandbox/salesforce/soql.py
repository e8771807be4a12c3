"""The SOQL engine of the Salesforce sandbox: parse, execute, and shape records as the API.

Use: `query = parse(soql, objects)` (raises SoqlError with Salesforce's errorCode and message),
`rows = execute(query, records, objects=..., lookup=...)`, then `project(query, row, ...)` per
record for the REST JSON shape, or `csv_rows` / `project_csv_value` for Bulk API 2.0 CSV.
`len(rows)` is the totalSize of a `COUNT()` query (`query.is_count`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any

from connectors.sandbox.salesforce.schema import ObjectDef
from connectors.sandbox.salesforce.soql_eval import execute, getter, range_hint
from connectors.sandbox.salesforce.soql_lexer import SoqlError
from connectors.sandbox.salesforce.soql_parser import Nested, SoqlQuery, parse

__all__ = [
    "SoqlError",
    "SoqlQuery",
    "csv_header",
    "csv_rows",
    "execute",
    "format_datetime",
    "json_value",
    "parse",
    "project",
    "project_csv_value",
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
    prefix = f"/services/data/v{api_version}/sobjects/"
    return _project(query.projection, row, query.object_name, lookup, prefix)


def _project(
    items: tuple[str | Nested, ...], record: Record, object_name: str, lookup: Lookup,
    prefix: str,
) -> dict[str, Any]:
    """`record` of `object_name` shaped by projection `items`."""
    out: dict[str, Any] = {
        "attributes": {"type": object_name, "url": f"{prefix}{object_name}/{record.get('Id')}"}
    }
    for item in items:
        if isinstance(item, str):
            out[item] = json_value(record.get(item))
            continue
        ref = record.get(item.reference_field)
        parent = lookup(item.target, ref) if ref is not None else None
        out[item.relationship] = (
            None if parent is None else _project(item.items, parent, item.target, lookup, prefix)
        )
    return out


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
    if value.utcoffset():
        value = value.astimezone(UTC)
    return (f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:"
            f"{value.minute:02d}:{value.second:02d}.{value.microsecond // 1000:03d}{zone}")


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


def csv_rows(query: SoqlQuery, rows: Iterable[Record], *, lookup: Lookup) -> Iterator[list[str]]:
    """The CSV cells of each record, in `csv_header` order (reads compiled once per call)."""
    getters = [getter(path, lookup) for path in query.paths]
    for row in rows:
        yield [project_csv_value(get(row)) for get in getters]
