"""SOQL reads that stream: REST pages through nextRecordsUrl, Bulk API 2.0 pages by locator.

Each HTTP request is its own retried call, so a failed page is fetched again rather than the
whole query; nothing here holds more than one page.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from simple_salesforce import Salesforce, format_soql
from simple_salesforce.bulk2 import JobState, Operation
from simple_salesforce.exceptions import SalesforceOperationError

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


@dataclass(frozen=True)
class BulkJob:
    """A Bulk API 2.0 query job that was created: its id, and when (monotonic seconds)."""

    job_id: str
    sobject: str
    operation: Operation
    created_at: float

    @property
    def what(self) -> str:
        """The job named in errors, e.g. `Bulk API 2.0 queryAll job on Opportunity`."""
        return f"Bulk API 2.0 {self.operation.value} job on {self.sobject}"


@dataclass(frozen=True)
class BulkPolling:
    """How to wait for a job: first poll after `first` s, doubling up to `longest`, at most
    `timeout` s in all. `sleep` and `clock` are injectable for tests."""

    first: float
    longest: float
    timeout: float
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


def _bulk_client(sf: Salesforce, sobject: str) -> Any:
    # A fresh handler each time: it carries the session id current at creation.
    return getattr(sf.bulk2, sobject)._client


def start_bulk_query(
    gateway: SalesforceGateway,
    query: str,
    *,
    sobject: str,
    include_deleted: bool,
    clock: Callable[[], float] = time.monotonic,
) -> BulkJob:
    """Create a Bulk API 2.0 query (or queryAll) job; Salesforce starts running it at once."""
    operation = Operation.query_all if include_deleted else Operation.query
    what = f"Bulk API 2.0 {operation.value} job on {sobject}"
    reply = gateway.call(
        lambda sf: _bulk_client(sf, sobject).create_job(operation, query), what=what
    )
    job_id = reply.get("id") if isinstance(reply, Mapping) else None
    if not job_id:
        raise TruncatedResponse(f"{what}: the job reply carries no id")
    return BulkJob(str(job_id), sobject, operation, clock())


def wait_for_bulk_job(gateway: SalesforceGateway, job: BulkJob, *, polling: BulkPolling) -> None:
    """Poll until the job is JobComplete, each poll its own retried call.

    The first poll comes `polling.first` seconds after the job was created (at once if that
    time has passed, say while another job's pages were read), then the wait doubles up to
    `polling.longest`. Failed or Aborted raise SalesforceOperationError, as does a job still
    running after `polling.timeout` seconds.
    """
    wait = polling.first
    next_poll = job.created_at + wait
    deadline = job.created_at + polling.timeout
    while True:
        delay = next_poll - polling.clock()
        if delay > 0:
            polling.sleep(delay)
        info = gateway.call(
            lambda sf: _bulk_client(sf, job.sobject).get_job(job.job_id, True), what=job.what
        )
        state = info.get("state") if isinstance(info, Mapping) else None
        if state is None:
            raise TruncatedResponse(f"{job.what}: the job status reply carries no state")
        if state == JobState.job_complete:
            return
        if state in (JobState.failed, JobState.aborted):
            message = info.get("errorMessage") or state
            raise SalesforceOperationError(f"{job.what} {job.job_id} ended {state}: {message}")
        if polling.clock() >= deadline:
            raise SalesforceOperationError(
                f"{job.what} {job.job_id} still {state} after {polling.timeout:.0f} s"
            )
        wait = min(wait * 2, polling.longest)
        next_poll = polling.clock() + wait


def bulk_job_pages(
    gateway: SalesforceGateway,
    job: BulkJob,
    *,
    field_types: Mapping[str, str],
    page_size: int,
    fields: Sequence[str] | None = None,
    record_url: str | None = None,
) -> Iterator[BulkPage]:
    """The result pages of a completed job, by locator, each request retried alone."""
    locator = ""
    while True:

        def results(sf: Salesforce, loc: str = locator) -> Any:
            return _bulk_client(sf, job.sobject).get_query_results(job.job_id, loc, page_size)

        page = gateway.call(results, what=job.what)
        records = records_from_csv(
            page["records"],
            field_types=field_types,
            expected=page["number_of_records"],
            sobject=job.sobject,
            fields=fields,
            record_url=record_url,
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
