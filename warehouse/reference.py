"""Reference data per source: stage catalog, applied stage mappings, owners, accounts, rates.

Catalogs, mappings and rates are small and replaced whole per source in one transaction;
owners and accounts are upserted (accounts arrive a page at a time).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa

from warehouse.schema import accounts, currency_rates, owners, stage_catalog, stage_mappings
from warehouse.upsert import UpsertCounts, upsert_rows


def _stamped(rows: Sequence[Mapping[str, Any]], source: str, column: str) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [{**row, "source": source, column: now} for row in rows]


def replace_source_rows(
    conn: sa.Connection,
    table: sa.Table,
    *,
    source: str,
    rows: Sequence[Mapping[str, Any]],
    stamp_column: str,
) -> int:
    """Replace every row of `source` in a small per-source table; returns rows written."""
    conn.execute(sa.delete(table).where(table.c.source == source))
    stamped = _stamped(rows, source, stamp_column)
    if stamped:
        conn.execute(sa.insert(table), stamped)
    return len(stamped)


def replace_stage_catalog(
    conn: sa.Connection, *, source: str, rows: Sequence[Mapping[str, Any]]
) -> int:
    """The CRM's stage catalog as read this run."""
    return replace_source_rows(
        conn, stage_catalog, source=source, rows=rows, stamp_column="synced_at"
    )


def replace_stage_mappings(
    conn: sa.Connection, *, source: str, rows: Sequence[Mapping[str, Any]]
) -> int:
    """The stage mapping as applied this run (source stage -> canonical stage)."""
    return replace_source_rows(
        conn, stage_mappings, source=source, rows=rows, stamp_column="applied_at"
    )


def replace_currency_rates(
    conn: sa.Connection, *, source: str, rows: Sequence[Mapping[str, Any]]
) -> int:
    """The CRM's (and configured) conversion rates as read this run."""
    return replace_source_rows(
        conn, currency_rates, source=source, rows=rows, stamp_column="synced_at"
    )


def upsert_owners(
    conn: sa.Connection, *, source: str, rows: Sequence[Mapping[str, Any]]
) -> UpsertCounts:
    """CRM users who own deals."""
    return upsert_rows(
        conn, owners, _stamped(rows, source, "synced_at"), key_columns=["source", "owner_id"]
    )


def upsert_accounts(
    conn: sa.Connection, *, source: str, rows: Sequence[Mapping[str, Any]]
) -> UpsertCounts:
    """Customer companies, a page at a time."""
    return upsert_rows(
        conn, accounts, _stamped(rows, source, "synced_at"), key_columns=["source", "account_id"]
    )


def read_source_frame(conn: sa.Connection, table: sa.Table, *, source: str) -> pd.DataFrame:
    """Every row of `source` in a per-source table, without the bookkeeping columns."""
    columns = [
        column
        for column in table.c
        if column.name != "source" and not column.info.get("bookkeeping")
    ]
    result = conn.execute(sa.select(*columns).where(table.c.source == source))
    return pd.DataFrame(result.fetchall(), columns=[c.name for c in columns], dtype=object)
