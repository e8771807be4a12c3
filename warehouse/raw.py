"""Raw CRM payloads as they came, and which of them still need normalizing.

A raw row is marked `needs_normalize` when it is new or its payload (or modification stamp)
changed; re-reading an identical record leaves it as it was. The normalizer takes pending
rows in batches and marks the ones it loaded; rows it quarantined stay pending, so they are
retried on every run and a fixed mapping repairs them without a re-extract.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from warehouse.key_lists import key_filters
from warehouse.schema import raw_deals, raw_stage_history
from warehouse.upsert import UpsertCounts, upsert_columns


@dataclass(frozen=True)
class RawDeal:
    """One raw deal payload (JSON text) waiting to be normalized."""

    source_id: str
    payload: str
    last_modified_at: datetime | None


def _require_text(payload: object, what: str) -> str:
    if not isinstance(payload, str):
        raise TypeError(f"{what} payload must be JSON text, not {type(payload).__name__}")
    return payload


def load_raw_deals(
    conn: sa.Connection,
    *,
    source: str,
    run_id: str,
    payloads: Iterable[tuple[str, str, datetime | None]],
) -> UpsertCounts:
    """Upsert `(source_id, payload_json, last_modified_at)` rows, marking changed ones pending.

    A record seen twice in one call keeps its latest version (by modification stamp, then
    by position). Runs in the caller's transaction, with the cursor that covers it.
    """
    extracted_at = datetime.now(UTC)
    latest = {
        source_id: (payload, modified)
        for source_id, payload, modified in latest_deal_payloads(payloads)
    }
    n = len(latest)
    columns = {
        "source": [source] * n,
        "source_id": list(latest),
        "payload": [payload for payload, _ in latest.values()],
        "last_modified_at": [modified for _, modified in latest.values()],
        "extracted_at": [extracted_at] * n,
        "run_id": [run_id] * n,
        "needs_normalize": [True] * n,
    }
    return upsert_columns(
        conn,
        raw_deals,
        columns,
        key_columns=["source", "source_id"],
        compare_columns=["payload", "last_modified_at"],
    )


def latest_deal_payloads(
    payloads: Iterable[tuple[str, str, datetime | None]],
) -> list[tuple[str, str, datetime | None]]:
    """One `(source_id, payload_json, last_modified_at)` per record: its latest version (by
    modification stamp, then by position), in order of first appearance."""
    latest: dict[str, tuple[str, datetime | None]] = {}
    for source_id, payload, modified in payloads:
        text = _require_text(payload, f"deal {source_id}")
        seen = latest.get(source_id)
        if seen is None or seen[1] is None or modified is None or modified >= seen[1]:
            latest[source_id] = (text, modified)
    return [(source_id, text, modified) for source_id, (text, modified) in latest.items()]


def pending_raw_deals(
    conn: sa.Connection, source: str, batch_size: int = 1_000
) -> Iterator[list[RawDeal]]:
    """Pending raw deals of `source` in batches, by id; safe to mark rows while iterating."""
    after: str | None = None
    while True:
        batch = pending_raw_batch(conn, source, batch_size, after=after)
        if not batch:
            return
        yield batch
        after = batch[-1].source_id


def pending_raw_batch(
    conn: sa.Connection, source: str, batch_size: int, *, after: str | None = None
) -> list[RawDeal]:
    """The next `batch_size` pending raw deals of `source` with ids after `after`, by id.

    One query: a caller can read each batch in a short transaction of its own (a reader
    held open across batches keeps SQLite from checkpointing its write-ahead log).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    query = (
        sa.select(raw_deals.c.source_id, raw_deals.c.payload, raw_deals.c.last_modified_at)
        .where(raw_deals.c.source == source, raw_deals.c.needs_normalize)
        .order_by(raw_deals.c.source_id)
        .limit(batch_size)
    )
    if after is not None:
        query = query.where(raw_deals.c.source_id > after)
    return [RawDeal(*row) for row in conn.execute(query)]


def _mark(conn: sa.Connection, table: sa.Table, source: str, source_ids: Sequence[str]) -> int:
    """Clear `needs_normalize` on the given ids of one source; returns rows marked."""
    now = datetime.now(UTC)
    marked = 0
    for ids_match in key_filters(conn, table.c.source_id, source_ids):
        result = conn.execute(
            sa.update(table)
            .where(table.c.source == source, ids_match, table.c.needs_normalize)
            .values(needs_normalize=False, normalized_at=now)
        )
        marked += result.rowcount
    return marked


def mark_normalized(conn: sa.Connection, *, source: str, source_ids: Sequence[str]) -> int:
    """Mark raw deals as loaded into `deals` (leave quarantined ones pending)."""
    return _mark(conn, raw_deals, source, source_ids)


def load_raw_stage_history(
    conn: sa.Connection,
    *,
    source: str,
    run_id: str,
    entries: Iterable[tuple[str, str, str]],
) -> UpsertCounts:
    """Upsert `(deal source_id, history_key, payload_json)` entries.

    History entries have no pending mark of their own: both CRMs only ever add entries (with
    their deal's change), and a deal's stays are rebuilt from its whole history whenever the
    deal is normalized.
    """
    extracted_at = datetime.now(UTC)
    latest: dict[tuple[str, str], str] = {}
    for source_id, history_key, payload in entries:
        latest[(source_id, history_key)] = _require_text(payload, f"history {history_key}")
    n = len(latest)
    columns = {
        "source": [source] * n,
        "source_id": [source_id for source_id, _ in latest],
        "history_key": [history_key for _, history_key in latest],
        "payload": list(latest.values()),
        "extracted_at": [extracted_at] * n,
        "run_id": [run_id] * n,
    }
    return upsert_columns(
        conn,
        raw_stage_history,
        columns,
        key_columns=["source", "source_id", "history_key"],
        compare_columns=["payload"],
    )
