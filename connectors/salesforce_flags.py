"""Writing the stale flags back: sObject Collections (200 a call) or a Bulk API 2.0 update.

Only the configured flag fields are ever written, and only those each update names. One
result per update, matched by position (Collections) or by Id (Bulk); a record the CRM
refuses for a reason retrying cannot fix is marked `retriable=False`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError

from connectors.base import FlagUpdate, WriteResult
from connectors.salesforce_calls import SalesforceGateway, error_items, is_retriable
from connectors.salesforce_settings import SalesforceSettings

COLLECTION_SIZE = 200
FATAL_ERROR_CODES = frozenset(
    {
        "ENTITY_IS_DELETED",
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "INVALID_FIELD",
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        "INSUFFICIENT_ACCESS_OR_READONLY",
        "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
        "MALFORMED_ID",
        "INVALID_ID_FIELD",
        "NOT_FOUND",
        "ENTITY_IS_LOCKED",
        "STRING_TOO_LONG",
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        "REQUIRED_FIELD_MISSING",
        "FIELD_INTEGRITY_EXCEPTION",
    }
)
# Aliases a caller may use for each flag field, besides its configured API name.
_ALIASES = {
    "flagged": ("flagged", "flag_stale", "stale"),
    "reason": ("reason", "flag_reason"),
    "since": ("since", "flag_since"),
}


def field_values(update: FlagUpdate, settings: SalesforceSettings) -> dict[str, Any]:
    """The API names and JSON values an update writes; any non-flag field is refused."""
    by_name: dict[str, str] = {}
    for meaning, api_name in settings.flag_fields.items():
        for alias in (*_ALIASES[meaning], api_name, api_name.lower()):
            by_name[alias] = api_name
    values: dict[str, Any] = {}
    for key, value in update.fields.items():
        api_name = by_name.get(key) or by_name.get(key.lower())
        if api_name is None:
            raise ValueError(
                f"refusing to write {key!r} on {update.source_id}: only the flag fields "
                f"{', '.join(settings.flag_fields.values())} are ever written"
            )
        values[api_name] = _json_value(value)
    return values


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


class FlagWriter:
    """Pushes flag updates through the gateway."""

    def __init__(self, *, gateway: SalesforceGateway, settings: SalesforceSettings) -> None:
        self._gateway = gateway
        self._settings = settings

    def push(self, updates: Sequence[FlagUpdate]) -> list[WriteResult]:
        """Write the updates; one WriteResult per update, in input order."""
        records = [(u.source_id, field_values(u, self._settings)) for u in updates]
        if len(records) > self._settings.bulk_write_threshold:
            return self._bulk(records)
        results: list[WriteResult] = []
        for start in range(0, len(records), COLLECTION_SIZE):
            results.extend(self._collection(records[start : start + COLLECTION_SIZE]))
        return results

    def _collection(self, records: list[tuple[str, dict[str, Any]]]) -> list[WriteResult]:
        body = {
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Opportunity"}, "id": sid, **values}
                for sid, values in records
            ],
        }

        def patch(sf: Salesforce) -> Any:
            return sf.restful("composite/sobjects", method="PATCH", json=body)

        try:
            replies = self._gateway.call(patch, what="the flag write (sObject Collections)")
        except SalesforceError as exc:
            if is_retriable(exc):
                raise
            items = error_items(exc)
            return [_failure(sid, items) for sid, _ in records]
        if not isinstance(replies, list) or len(replies) != len(records):
            return [
                WriteResult(sid, False, "sObject Collections reply did not match the request")
                for sid, _ in records
            ]
        return [
            _from_save_result(sid, reply) for (sid, _), reply in zip(records, replies, strict=True)
        ]

    def _bulk(self, records: list[tuple[str, dict[str, Any]]]) -> list[WriteResult]:
        rows = [
            {"Id": sid} | {k: _csv_text(v) for k, v in values.items()} for sid, values in records
        ]
        what = "the flag write (Bulk API 2.0 update)"

        def run(sf: Salesforce) -> tuple[str, str]:
            jobs = sf.bulk2.Opportunity.update(records=rows, wait=self._settings.bulk_poll_seconds)
            job_ids = [job["job_id"] for job in jobs]
            failed = "".join(sf.bulk2.Opportunity.get_failed_records(j) for j in job_ids)
            done = "".join(sf.bulk2.Opportunity.get_successful_records(j) for j in job_ids)
            return failed, done

        failed_csv, done_csv = self._gateway.call(run, what=what)
        errors = {
            row.get("sf__Id") or row.get("Id", ""): row.get("sf__Error", "")
            for row in _csv_rows(failed_csv)
        }
        succeeded = {row.get("sf__Id") or row.get("Id", "") for row in _csv_rows(done_csv)}
        results = []
        for sid, _ in records:
            if sid in succeeded:
                results.append(WriteResult(sid, True))
            elif sid in errors:
                code, _, message = errors[sid].partition(":")
                results.append(_failure(sid, [(code, message.rstrip(":-"))]))
            else:
                results.append(WriteResult(sid, False, "not processed by the Bulk API job"))
        return results


def _from_save_result(source_id: str, reply: Mapping[str, Any]) -> WriteResult:
    if reply.get("success"):
        return WriteResult(source_id, True)
    items = [
        (str(e.get("statusCode", "")), str(e.get("message", "")))
        for e in reply.get("errors") or []
        if isinstance(e, Mapping)
    ]
    return _failure(source_id, items or [("", "failed without an error")])


def _failure(source_id: str, items: list[tuple[str, str]]) -> WriteResult:
    error = "; ".join(f"{code}: {message}" if code else message for code, message in items)
    fatal = any(code in FATAL_ERROR_CODES for code, _ in items)
    return WriteResult(source_id, False, error, retriable=not fatal)


def _csv_text(value: Any) -> str:
    if value is None:
        return "#N/A"  # Bulk API's null; an empty field would leave the value as it is
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _csv_rows(text: str) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    # Several jobs' CSVs may be joined: every header line starts a new block.
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    for row in reader:
        if (row and row[0].startswith("sf__")) or (header is None and row):
            header = row
            continue
        if header and row:
            rows.append(dict(zip(header, row, strict=False)))
    return rows
