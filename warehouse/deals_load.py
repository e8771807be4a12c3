"""Writing canonical deals: upserts, stays per deal, quarantine and its resolution.

Every function runs in the caller's transaction, so one batch of deals, their stays, their
quarantine rows and the raw rows they were normalized from commit together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa

from warehouse.key_lists import key_filters
from warehouse.schema import deal_stage_history, deals, quarantine, raw_deals, raw_stage_history
from warehouse.upsert import UpsertCounts, insert_frame, upsert_frame, upsert_rows


def upsert_deal_frame(conn: sa.Connection, frame: pd.DataFrame) -> UpsertCounts:
    """`upsert_deals` for a frame of deal columns, bound a column at a time (large batches)."""
    stamped = frame.assign(synced_at=pd.Timestamp(datetime.now(UTC)))
    return upsert_frame(conn, deals, stamped, key_columns=["deal_key"])


def deleted_keys(conn: sa.Connection, deal_keys: Sequence[str]) -> set[str]:
    """Which of these deals the warehouse already holds as deleted."""
    found: set[str] = set()
    for keys_match in key_filters(conn, deals.c.deal_key, deal_keys):
        found.update(
            conn.execute(
                sa.select(deals.c.deal_key).where(keys_match, deals.c.is_deleted.is_(True))
            ).scalars()
        )
    return found


def replace_stays(
    conn: sa.Connection, *, deal_keys: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> int:
    """Replace the stage-history stays of these deals (rebuilt from their whole history)."""
    for keys_match in key_filters(conn, deal_stage_history.c.deal_key, deal_keys):
        conn.execute(sa.delete(deal_stage_history).where(keys_match))
    if rows:
        now = datetime.now(UTC)
        conn.execute(sa.insert(deal_stage_history), [{**row, "synced_at": now} for row in rows])
    return len(rows)


def replace_stay_frame(
    conn: sa.Connection, *, deal_keys: Sequence[str], frame: pd.DataFrame
) -> int:
    """`replace_stays` for a frame of stay columns (source included), bound column-wise."""
    for keys_match in key_filters(conn, deal_stage_history.c.deal_key, deal_keys):
        conn.execute(sa.delete(deal_stage_history).where(keys_match))
    if frame.empty:
        return 0
    return insert_frame(
        conn, deal_stage_history, frame.assign(synced_at=pd.Timestamp(datetime.now(UTC)))
    )


def raw_history_payloads(
    conn: sa.Connection, *, source: str, source_ids: Sequence[str]
) -> list[str]:
    """The raw stage-history payloads (JSON text) of these deals."""
    payloads: list[str] = []
    t = raw_stage_history
    for ids_match in key_filters(conn, t.c.source_id, source_ids):
        payloads.extend(
            conn.execute(
                sa.select(t.c.payload)
                .where(t.c.source == source, ids_match)
                .order_by(t.c.source_id, t.c.history_key)
            ).scalars()
        )
    return payloads


def quarantine_records(
    conn: sa.Connection,
    *,
    source: str,
    kind: str,
    rows: Sequence[Mapping[str, Any]],
    run_id: str,
) -> int:
    """Record (or refresh) records that could not load: source_id, reason, raw_payload each."""
    if not rows:
        return 0
    now = datetime.now(UTC)
    full = [
        {
            "source": source,
            "kind": kind,
            "source_id": row["source_id"],
            "reason": row["reason"],
            "raw_payload": row["raw_payload"],
            "first_seen_at": now,
            "last_seen_at": now,
            "resolved_at": None,
            "run_id": run_id,
        }
        for row in rows
    ]
    upsert_rows(
        conn,
        quarantine,
        full,
        key_columns=["source", "kind", "source_id"],
        update_columns=["reason", "raw_payload", "last_seen_at", "resolved_at", "run_id"],
        compare_columns=["reason", "raw_payload", "resolved_at"],
    )
    return len(full)


def resolve_quarantine(
    conn: sa.Connection, *, source: str, kind: str, source_ids: Sequence[str]
) -> int:
    """Mark open quarantine rows of these records resolved (they loaded this time)."""
    open_rows = (
        quarantine.c.source == source,
        quarantine.c.kind == kind,
        quarantine.c.resolved_at.is_(None),
    )
    if conn.execute(sa.select(quarantine.c.source_id).where(*open_rows).limit(1)).first() is None:
        return 0  # nothing open for this source (the usual case): no key lookups at all
    now = datetime.now(UTC)
    resolved = 0
    for ids_match in key_filters(conn, quarantine.c.source_id, source_ids):
        resolved += conn.execute(
            sa.update(quarantine).where(*open_rows, ids_match).values(resolved_at=now)
        ).rowcount
    return resolved


def mark_needs_attention(conn: sa.Connection, reasons: Mapping[str, str]) -> int:
    """Flag deals whose newer version sits in quarantine; they keep their last good row."""
    if not reasons:
        return 0
    stmt = (
        sa.update(deals)
        .where(deals.c.deal_key == sa.bindparam("key"))
        .values(needs_attention=True, quarantine_reason=sa.bindparam("reason"))
    )
    result = conn.execute(stmt, [{"key": k, "reason": r} for k, r in reasons.items()])
    return max(result.rowcount, 0)


def mark_missing_deleted(conn: sa.Connection, *, source: str, present_ids: set[str]) -> list[str]:
    """Mark deleted the deals of `source` the CRM no longer lists; returns their deal keys."""
    live = conn.execute(
        sa.select(deals.c.deal_key, deals.c.source_id).where(
            deals.c.source == source, deals.c.is_deleted.is_(False)
        )
    ).all()
    missing = [key for key, source_id in live if source_id not in present_ids]
    now = datetime.now(UTC)
    for keys_match in key_filters(conn, deals.c.deal_key, missing):
        conn.execute(sa.update(deals).where(keys_match).values(is_deleted=True, synced_at=now))
    for keys_match in key_filters(conn, deal_stage_history.c.deal_key, missing):
        conn.execute(
            sa.update(deal_stage_history)
            .where(keys_match, deal_stage_history.c.exited_at.is_(None))
            .values(exited_at=now, exit_reason="deleted")
        )
    return missing


def has_pending_raw(conn: sa.Connection, *, source: str) -> bool:
    """True when raw deals of `source` wait to be normalized (new, changed or quarantined)."""
    return (
        conn.execute(
            sa.select(raw_deals.c.source_id)
            .where(raw_deals.c.source == source, raw_deals.c.needs_normalize.is_(True))
            .limit(1)
        ).first()
        is not None
    )
