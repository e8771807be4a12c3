"""Incremental-sync cursors, committed in the same transaction as the raw rows they cover."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from warehouse.schema import sync_cursors
from warehouse.upsert import upsert_rows


def read_cursor(conn: sa.Connection, source: str, stream: str) -> str | None:
    """The committed cursor of `source`/`stream`, or None before the first sync."""
    query = sa.select(sync_cursors.c.value).where(
        sync_cursors.c.source == source, sync_cursors.c.stream == stream
    )
    return conn.execute(query).scalar_one_or_none()


def write_cursor(conn: sa.Connection, source: str, stream: str, value: str) -> None:
    """Set the cursor in the caller's transaction, so it commits or rolls back with the rows."""
    if not value:
        raise ValueError(f"empty cursor for {source}/{stream}")
    upsert_rows(
        conn,
        sync_cursors,
        [{"source": source, "stream": stream, "value": value, "updated_at": datetime.now(UTC)}],
        key_columns=["source", "stream"],
        compare_columns=["value"],
    )
