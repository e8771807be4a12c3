"""Extract: reference data and raw deal pages from one CRM into the raw tables.

Pages are written a few at a time (`COMMIT_DEALS` deals or more per transaction, committed
by a background thread while the next pages are read, one batch after the other): their raw
rows and the newest cursor among them commit together, so a crash at any point loses
nothing and duplicates nothing: the next run resumes from the last committed cursor. When
the CRM fails mid-extract, the pages already read are committed before the error goes on.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pandas as pd
import sqlalchemy as sa

from connectors.base import CrmConnector
from pipelines_etl.steps import raw_json
from pipelines_etl.steps.read_ahead import read_ahead
from transforms.value_parsing import parse_timestamp
from warehouse.cursors import read_cursor, write_cursor
from warehouse.raw import latest_deal_payloads, load_raw_deals, load_raw_stage_history
from warehouse.reference import (
    replace_currency_rates,
    replace_stage_catalog,
    upsert_accounts,
    upsert_owners,
)

DEALS_STREAM = "deals"
# Deals per extract transaction (at least; a transaction always ends with a whole page).
COMMIT_DEALS = 5_000
# Records (deals and history entries) read ahead of the page being flattened: many small
# HubSpot pages, or one Salesforce Bulk page (a page always comes, however large).
READ_AHEAD_RECORDS = 5_000
PageCallback = Callable[[int], None]


@dataclass(frozen=True)
class ExtractResult:
    """What one extract read."""

    deals_read: int
    history_read: int
    pages: int
    cursor_before: str | None
    cursor_after: str | None


def _decimal(value: Any, places: int | None = None) -> Decimal | None:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value == "":
        return None
    number = Decimal(str(value))
    return number.quantize(Decimal(1).scaleb(-places)) if places is not None else number


def _flag(value: Any) -> bool | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return str(value)


def _date(value: Any) -> Any:
    text = _text(value)
    return None if text is None else pd.Timestamp(text[:10]).date()


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def catalog_rows(stages: pd.DataFrame) -> list[dict[str, Any]]:
    """The stage catalog frame (STAGE_COLUMNS) as warehouse rows."""
    rows = []
    for row in _records(stages.drop_duplicates(["pipeline", "stage_id"], keep="last")):
        rows.append(
            {
                "pipeline": _text(row["pipeline"]),
                "stage_id": _text(row["stage_id"]),
                "pipeline_label": _text(row.get("pipeline_label")),
                "label": _text(row.get("label")),
                "is_closed": bool(_flag(row.get("is_closed"))),
                "is_won": bool(_flag(row.get("is_won"))),
                "probability": _decimal(row.get("probability"), 4),
                "display_order": None
                if row.get("display_order") is None
                else int(row["display_order"]),
                "is_active": _flag(row.get("is_active")),
            }
        )
    return rows


def rate_rows(rates: pd.DataFrame, configured: Mapping[str, Decimal]) -> list[dict[str, Any]]:
    """CRM conversion rates plus the configured ones, as warehouse rows (for audit)."""
    rows = [
        {
            "currency": _text(row["currency"]),
            "rate": _decimal(row["rate"]),
            "is_corporate": bool(_flag(row.get("is_corporate"))),
            "start_date": _date(row.get("start_date")),
            "next_start_date": _date(row.get("next_start_date")),
            "origin": "crm",
        }
        for row in _records(rates)
    ]
    rows += [
        {
            "currency": code,
            "rate": rate,
            "is_corporate": False,
            "start_date": None,
            "next_start_date": None,
            "origin": "config",
        }
        for code, rate in configured.items()
    ]
    return rows


def refresh_reference(
    *,
    engine: sa.Engine,
    connector: CrmConnector,
    configured_rates: Mapping[str, Decimal],
) -> dict[str, int]:
    """Stage catalog, owners, accounts and currency rates of one source; returns row counts."""
    source = connector.source
    stages = connector.stages()
    owners = connector.owners()
    rates = connector.currency_rates()
    with engine.begin() as conn:
        counts = {
            "stages": replace_stage_catalog(conn, source=source, rows=catalog_rows(stages)),
            "currency_rates": replace_currency_rates(
                conn, source=source, rows=rate_rows(rates, configured_rates)
            ),
            "owners": upsert_owners(
                conn,
                source=source,
                rows=[
                    {**row, "is_active": _flag(row.get("is_active"))}
                    for row in _records(owners.drop_duplicates("owner_id", keep="last"))
                ],
            ).total,
        }
    accounts = 0
    for page in connector.accounts():
        with engine.begin() as conn:
            accounts += upsert_accounts(
                conn, source=source, rows=_records(page.drop_duplicates("account_id", keep="last"))
            ).total
    counts["accounts"] = accounts
    return counts


@dataclass
class _PendingPages:
    """Raw rows of pages read but not yet committed, and the newest cursor among them."""

    deals: dict[str, tuple[str, str, Any]] = field(default_factory=dict)
    history: dict[tuple[str, str], tuple[str, str, str]] = field(default_factory=dict)
    cursor: str | None = None
    deal_count: int = 0

    def add(self, deal_rows: list[tuple[str, str, Any]], history_rows: list[tuple[str, str, str]],
            cursor: str | None) -> None:  # fmt: skip
        """A page's rows; a record on a later page replaces the one on an earlier page."""
        for source_id, payload, modified in latest_deal_payloads(deal_rows):
            self.deals.pop(source_id, None)
            self.deals[source_id] = (source_id, payload, modified)
        for deal_id, key, payload in history_rows:
            self.history.pop((deal_id, key), None)
            self.history[(deal_id, key)] = (deal_id, key, payload)
        if cursor is not None:
            self.cursor = cursor
        self.deal_count += len(deal_rows)

    def flush(self, *, engine: sa.Engine, source: str, run_id: str) -> str | None:
        """Commit the pending rows with their cursor; returns the cursor written (or None)."""
        if not self.deals and not self.history and self.cursor is None:
            return None
        with engine.begin() as conn:
            if self.deals:
                load_raw_deals(conn, source=source, run_id=run_id, payloads=self.deals.values())
            if self.history:
                load_raw_stage_history(
                    conn, source=source, run_id=run_id, entries=self.history.values()
                )
            if self.cursor is not None:
                write_cursor(conn, source, DEALS_STREAM, self.cursor)
        written = self.cursor
        self.deals, self.history, self.cursor, self.deal_count = {}, {}, None, 0
        return written


def modification_stamps(texts: list[str | None]) -> list[datetime | None]:
    """Modification stamps as UTC datetimes, None where missing or unreadable.

    ISO text with a zone (what both CRMs send) goes through `datetime.fromisoformat`, which
    costs microseconds a page; any other form sends the whole page through the normalizer's
    `parse_timestamp`, whose pandas set-up costs milliseconds a call.
    """
    stamps: list[datetime | None] = []
    for text in texts:
        if text is None:
            stamps.append(None)
            continue
        try:
            stamp = datetime.fromisoformat(text)
        except ValueError:
            return _parsed_stamps(texts)
        if stamp.tzinfo is None:
            return _parsed_stamps(texts)
        stamps.append(stamp.astimezone(UTC))
    return stamps


def _parsed_stamps(texts: list[str | None]) -> list[datetime | None]:
    parsed = parse_timestamp(pd.Series(texts, dtype=object)).values
    missing = parsed.isna().tolist()
    values = parsed.dt.to_pydatetime() if len(parsed) else []
    return [None if gone else value for value, gone in zip(values, missing, strict=True)]


class _WriteBehind:
    """Commits full batches of pages in a background thread, one at a time and in order,
    while the main thread reads and flattens the next pages; keeps the newest cursor written.

    A batch is handed over only once the previous one has committed, so cursors still
    advance in page order and at most one batch waits in memory.
    """

    def __init__(self, *, engine: sa.Engine, source: str, run_id: str) -> None:
        self._write = functools.partial(_PendingPages.flush, engine=engine, source=source,
                                        run_id=run_id)  # fmt: skip
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"extract-{source}-w")
        self._in_flight: Future[str | None] | None = None
        self.cursor_written: str | None = None

    def submit(self, pages: _PendingPages) -> None:
        """Write `pages` once the batch before has committed (whose error raises here)."""
        self.wait()
        self._in_flight = self._pool.submit(self._write, pages)

    def wait(self) -> None:
        """Wait until the batch being written has committed; raises its error."""
        future, self._in_flight = self._in_flight, None
        if future is not None:
            self.cursor_written = future.result() or self.cursor_written

    def close(self) -> None:
        """Let a batch being written finish, then stop the thread."""
        self._pool.shutdown(wait=True)


def _page_rows(
    connector: CrmConnector, page: Any
) -> tuple[list[tuple[str, str, Any]], list[tuple[str, str, str]]]:
    """A page's raw deal rows (id, JSON, modification stamp) and history rows (id, key, JSON)."""
    ids_and_stamps = connector.deal_stamps(page.deals)
    stamps = modification_stamps([stamp for _, stamp in ids_and_stamps])
    deal_rows = [
        (str(source_id), raw_json.dumps(payload), stamp)
        for (source_id, _), payload, stamp in zip(ids_and_stamps, page.deals, stamps, strict=True)
    ]
    keys = connector.history_keys(page.history)
    history_rows = [
        (deal_id, key, raw_json.dumps(payload))
        for (deal_id, key), payload in zip(keys, page.history, strict=True)
    ]
    return deal_rows, history_rows


def extract_deals(
    *,
    engine: sa.Engine,
    connector: CrmConnector,
    run_id: str,
    full: bool,
    on_page: PageCallback | None = None,
    commit_deals: int = COMMIT_DEALS,
) -> ExtractResult:
    """Stream changed deals (all with `full`) page by page into raw_deals / raw_stage_history."""
    source = connector.source
    with engine.connect() as conn:
        cursor_before = read_cursor(conn, source, DEALS_STREAM)
    cursor_after = cursor_before
    deals_read = history_read = pages = 0
    pending = _PendingPages()
    writer = _WriteBehind(engine=engine, source=source, run_id=run_id)
    try:
        # The next page downloads, and the last full batch commits, while this page is
        # flattened.
        with read_ahead(
            connector.deals_since(None if full else cursor_before),
            depth=READ_AHEAD_RECORDS,
            weight=lambda page: len(page.deals) + len(page.history),
            name=f"extract-{source}",
        ) as page_iterator:
            while True:
                try:
                    page = next(page_iterator)
                    deal_rows, history_rows = _page_rows(connector, page)
                except StopIteration:
                    break
                except Exception:
                    # The pages read before the CRM failed are whole: keep them (and their
                    # cursor), after the batch being written.
                    writer.wait()
                    pending.flush(engine=engine, source=source, run_id=run_id)
                    raise
                pending.add(deal_rows, history_rows, page.cursor)
                if pending.deal_count >= commit_deals:
                    writer.submit(pending)
                    pending = _PendingPages()
                pages += 1
                deals_read += len(page.deals)
                history_read += len(page.history)
                if on_page is not None:
                    on_page(len(page.deals))
        writer.wait()
    finally:
        writer.close()
    written = pending.flush(engine=engine, source=source, run_id=run_id)
    cursor_after = written or writer.cursor_written or cursor_before
    return ExtractResult(deals_read, history_read, pages, cursor_before, cursor_after)
