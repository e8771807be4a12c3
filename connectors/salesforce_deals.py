"""Reading Opportunities: the incremental extract (REST or Bulk API 2.0), history, ids.

The extract is ordered by (SystemModstamp, Id) and reads from the cursor less an overlap,
inclusively, through queryAll so deleted deals arrive with IsDeleted=true. REST pages are
ordered, so each page's cursor may be committed; a Bulk job's rows are unordered, so only its
last page carries the cursor.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.base import DealPage
from connectors.salesforce_calls import SalesforceGateway
from connectors.salesforce_query import (
    BulkPolling,
    bulk_job_pages,
    chunks,
    count,
    query_pages,
    soql,
    start_bulk_query,
    wait_for_bulk_job,
)
from connectors.salesforce_records import DealCursor, latest_cursor
from connectors.salesforce_settings import SalesforceSettings

# Fields a sync reads, in order; those describe does not show are left out.
DEAL_FIELDS: tuple[str, ...] = (
    "Id", "Name", "RecordTypeId", "StageName", "Amount", "CurrencyIsoCode", "Probability",
    "ForecastCategoryName", "OwnerId", "AccountId", "LeadSource", "Type", "CreatedDate",
    "CloseDate", "LastActivityDate", "LastModifiedDate", "SystemModstamp", "IsDeleted",
    "IsClosed", "IsWon",
)  # fmt: skip
HISTORY_FIELDS: tuple[str, ...] = ("Id", "OpportunityId", "StageName", "CreatedDate")
# OpportunityHistory's describe types of HISTORY_FIELDS (fixed by Salesforce), for Bulk CSV.
HISTORY_FIELD_TYPES: Mapping[str, str] = {
    "Id": "id",
    "OpportunityId": "reference",
    "StageName": "picklist",
    "CreatedDate": "datetime",
}
_HISTORY_ALL = "SELECT {fields:literal} FROM OpportunityHistory"
_REST_ALL = "SELECT {fields:literal} FROM Opportunity ORDER BY SystemModstamp, Id"
_REST_SINCE = (
    "SELECT {fields:literal} FROM Opportunity WHERE SystemModstamp >= {since}"
    " ORDER BY SystemModstamp, Id"
)
_BULK_ALL = "SELECT {fields:literal} FROM Opportunity"
_BULK_SINCE = "SELECT {fields:literal} FROM Opportunity WHERE SystemModstamp >= {since}"
_COUNT_ALL = "SELECT COUNT() FROM Opportunity"
_COUNT_SINCE = "SELECT COUNT() FROM Opportunity WHERE SystemModstamp >= {since}"


@dataclass(frozen=True)
class OpportunitySchema:
    """What describe says about Opportunity: its fields and their types."""

    field_types: Mapping[str, str]

    @classmethod
    def from_describe(cls, describe: Mapping[str, Any]) -> OpportunitySchema:
        """Build from a `sf.Opportunity.describe()` reply."""
        return cls({str(f["name"]): str(f.get("type", "string")) for f in describe["fields"]})

    def has(self, name: str) -> bool:
        """Whether the org's Opportunity has this field (case-insensitive, as SOQL)."""
        lowered = name.lower()
        return any(field.lower() == lowered for field in self.field_types)

    @property
    def multi_currency(self) -> bool:
        """A multi-currency org is one whose Opportunity has CurrencyIsoCode."""
        return self.has("CurrencyIsoCode")

    def deal_fields(self, flag_fields: Sequence[str]) -> list[str]:
        """The SELECT list of a deal extract: standard fields and flag fields that exist."""
        wanted = [*DEAL_FIELDS, *flag_fields]
        return [name for name in wanted if self.has(name)]


class DealReader:
    """Streams Opportunities and their stage history for one connector."""

    def __init__(
        self, *, gateway: SalesforceGateway, settings: SalesforceSettings, schema: OpportunitySchema
    ) -> None:
        self._gateway = gateway
        self._settings = settings
        self._schema = schema
        self._fields = schema.deal_fields(list(settings.flag_fields.values()))

    def deals_since(self, cursor: str | None) -> Iterator[DealPage]:
        """Pages of deals changed at or after `cursor` less the overlap, deleted ones included."""
        start = DealCursor.parse(cursor) if cursor else None
        since = start.query_from(self._settings.overlap_seconds) if start else None
        if self._use_bulk(since):
            yield from self._bulk_pages(since, start)
            return
        template = _REST_ALL if since is None else _REST_SINCE
        query = soql(template, fields=self._fields, since=since)
        current = start
        for records in query_pages(
            self._gateway,
            query,
            include_deleted=True,
            batch_size=self._settings.page_size,
            what="the Opportunity extract",
        ):
            current = latest_cursor(current, records)
            yield DealPage(records, self.history(records), current.text() if current else None)

    def _use_bulk(self, since: datetime | None) -> bool:
        threshold = self._settings.bulk_threshold
        if threshold is None:
            return False
        total = count(
            self._gateway,
            soql(_COUNT_ALL if since is None else _COUNT_SINCE, since=since),
            include_deleted=True,
            what="counting the Opportunity increment",
        )
        return total > threshold

    def _bulk_pages(self, since: datetime | None, start: DealCursor | None) -> Iterator[DealPage]:
        """Deal pages from a Bulk job; a full load then reads all history from a second job.

        Bulk ignores ORDER BY: the cursor is only safe once every page is in, so only the last
        page carries it. On a full load, the OpportunityHistory job is created once the deal
        job is complete (its snapshot is then at least as new as the deals'), runs on
        Salesforce's side while the deal pages download, and its pages follow them: one job
        and a few locator pages instead of one REST `IN` query per `id_chunk_size` deals.
        A partial load keeps the per-page `IN` reads (few deals, no full-table job).
        """
        polling = self._polling()
        template = _BULK_ALL if since is None else _BULK_SINCE
        deals_job = start_bulk_query(
            self._gateway,
            soql(template, fields=self._fields, since=since),
            sobject="Opportunity",
            include_deleted=True,
            clock=polling.clock,
        )
        wait_for_bulk_job(self._gateway, deals_job, polling=polling)
        history_job = None
        if since is None:
            history_job = start_bulk_query(
                self._gateway,
                soql(_HISTORY_ALL, fields=HISTORY_FIELDS),
                sobject="OpportunityHistory",
                include_deleted=True,
                clock=polling.clock,
            )
        current = start
        for page in bulk_job_pages(
            self._gateway,
            deals_job,
            field_types=self._schema.field_types,
            page_size=self._settings.bulk_page_size,
        ):
            current = latest_cursor(current, page.records)
            last = page.is_last and history_job is None
            if page.records or last:
                history = [] if history_job is not None else self.history(page.records)
                cursor = current.text() if last and current else None
                yield DealPage(page.records, history, cursor)
        if history_job is None:
            return
        wait_for_bulk_job(self._gateway, history_job, polling=polling)
        for page in bulk_job_pages(
            self._gateway,
            history_job,
            field_types=HISTORY_FIELD_TYPES,
            page_size=self._settings.bulk_page_size,
            fields=HISTORY_FIELDS,
            record_url=f"/services/data/v{self._settings.api_version}/sobjects/OpportunityHistory/",
        ):
            if page.records or page.is_last:
                cursor = current.text() if page.is_last and current else None
                yield DealPage([], page.records, cursor)

    def _polling(self) -> BulkPolling:
        return BulkPolling(
            first=self._settings.bulk_poll_seconds,
            longest=max(self._settings.bulk_poll_max_seconds, self._settings.bulk_poll_seconds),
            timeout=self._settings.bulk_job_timeout_seconds,
        )

    def history(self, deals: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """OpportunityHistory rows of these deals (deleted ones too), by `IN` chunks of ids.

        REST pages and partial Bulk loads read history this way: one REST call per
        `id_chunk_size` deals, sharing the deal page's lifetime.
        """
        ids = [str(deal["Id"]) for deal in deals]
        rows: list[dict[str, Any]] = []
        for chunk in chunks(ids, self._settings.id_chunk_size):
            query = soql(
                "SELECT {fields:literal} FROM OpportunityHistory WHERE OpportunityId IN {ids}"
                " ORDER BY OpportunityId, CreatedDate",
                fields=HISTORY_FIELDS,
                ids=chunk,
            )
            for records in query_pages(
                self._gateway,
                query,
                include_deleted=True,
                batch_size=2000,
                what="the OpportunityHistory read",
            ):
                rows.extend(records)
        return rows

    def deal_ids(self) -> Iterator[list[str]]:
        """Ids of every Opportunity not deleted, a page at a time."""
        for records in query_pages(
            self._gateway,
            soql("SELECT Id FROM Opportunity ORDER BY Id"),
            include_deleted=False,
            batch_size=2000,
            what="the Opportunity id list",
        ):
            yield [str(record["Id"]) for record in records]

    def read_deals(self, source_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Current records of these deals (those Salesforce still has), in `IN` chunks."""
        found: list[dict[str, Any]] = []
        for chunk in chunks(list(dict.fromkeys(source_ids)), self._settings.id_chunk_size):
            query = soql(
                "SELECT {fields:literal} FROM Opportunity WHERE Id IN {ids}",
                fields=self._fields,
                ids=chunk,
            )
            for records in query_pages(
                self._gateway,
                query,
                include_deleted=False,
                batch_size=self._settings.page_size,
                what="re-reading deals",
            ):
                found.extend(records)
        return found
