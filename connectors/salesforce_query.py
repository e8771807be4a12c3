"""SOQL reads that stream: REST pages through nextRecordsUrl, Bulk API 2.0 pages by locator.

Each HTTP request is its own retried call, so a failed page is fetched again rather than the
whole query; nothing here holds more than one page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from simple_salesforce import Salesforce, format_soql
from simple_salesforce.bulk2 import Operation

from connectors.base import TruncatedResponse
from connectors.salesforce_calls import SalesforceGateway
from connectors.salesforce_records import records_from_csv

_API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def select_list(fields: Sequence[str]) -> str:
    """A SELECT list of field API names, refused unless every name is a plain identifier."""
    bad = [name for name in fields if not _API_NAME.match(name)]
    if bad or not fields:
        raise ValueError(f"not Salesforce field API names: {bad or fields!r}")
    return ", ".join(fields)


def soql(template: str, *args: Any, fields: Sequence[str] = (), **kwargs: Any) -> str:
    """SOQL from a template via `format_soql`; `{fields:literal}` takes the checked SELECT list."""
    if fields:
        kwargs["fields"] = select_list(fields)
    return format_soql(template, *args, **kwargs)


def query_pages(
    gateway: SalesforceGateway, query: str, *, include_deleted: bool, batch_size: int, what: str
) -> Iterator[list[dict[str, Any]]]:
    """The records of a SOQL query, one REST page at a time (queryAll when include_deleted)."""
    headers = {"Sforce-Query-Options": f"batchSize={batch_size}"}

    def first(sf: Salesforce) -> Any:
        return sf.query(query, include_deleted=include_deleted, headers=headers)

    result = _checked(gateway.call(first, what=what), what=what)
    while True:
        if result["records"]:
            yield list(result["records"])
        if result.get("done", True):
            return
        next_url = result.get("nextRecordsUrl")
        if not next_url:
            raise TruncatedResponse(f"{what}: a page said done=false without nextRecordsUrl")

        def more(sf: Salesforce, url: str = next_url) -> Any:
            return sf.query_more(
                url, identifier_is_url=True, include_deleted=include_deleted, headers=headers
            )

        result = _checked(gateway.call(more, what=what), what=what)


def count(gateway: SalesforceGateway, query: str, *, include_deleted: bool, what: str) -> int:
    """The totalSize of a `SELECT COUNT() ...` query."""
    result = gateway.call(lambda sf: sf.query(query, include_deleted=include_deleted), what=what)
    if not isinstance(result, Mapping) or not isinstance(result.get("totalSize"), int):
        raise TruncatedResponse(f"{what}: the COUNT() reply has no totalSize")
    return result["totalSize"]


@dataclass(frozen=True)
class BulkPage:
    """One page of a Bulk API 2.0 query job, converted to REST-shaped records."""

    records: list[dict[str, Any]]
    is_last: bool


def bulk_query_pages(
    gateway: SalesforceGateway,
    query: str,
    *,
    sobject: str,
    field_types: Mapping[str, str],
    include_deleted: bool,
    page_size: int,
    poll_seconds: float,
) -> Iterator[BulkPage]:
    """Run a Bulk API 2.0 query (or queryAll) job and yield its result pages as they come.

    Uses the job client of `sf.bulk2.<object>` step by step (create, wait, results by
    locator) rather than its all-in-one generator, so that each request retries alone.
    """
    operation = Operation.query_all if include_deleted else Operation.query
    what = f"Bulk API 2.0 {operation.value} job on {sobject}"

    def client(sf: Salesforce) -> Any:
        # A fresh handler each time: it carries the session id current at creation.
        return getattr(sf.bulk2, sobject)._client

    job = gateway.call(lambda sf: client(sf).create_job(operation, query), what=what)
    job_id = job.get("id") if isinstance(job, Mapping) else None
    if not job_id:
        raise TruncatedResponse(f"{what}: the job reply carries no id")
    gateway.call(lambda sf: client(sf).wait_for_job(job_id, True, poll_seconds), what=what)
    locator = ""
    while True:

        def results(sf: Salesforce, loc: str = locator) -> Any:
            return client(sf).get_query_results(job_id, loc, page_size)

        page = gateway.call(results, what=what)
        records = records_from_csv(
            page["records"],
            field_types=field_types,
            expected=page["number_of_records"],
            sobject=sobject,
        )
        locator = page["locator"]
        yield BulkPage(records=records, is_last=not locator)
        if not locator:
            return


def chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    """`items` in lists of at most `size` (for `IN (...)` clauses that keep URLs short)."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _checked(result: Any, *, what: str) -> Mapping[str, Any]:
    if not isinstance(result, Mapping) or not isinstance(result.get("records"), list):
        raise TruncatedResponse(f"{what}: a query page without a records list")
    return result
