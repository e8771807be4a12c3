"""Idempotent batch upserts that tell inserted, updated and unchanged rows apart cheaply.

One `INSERT ... ON CONFLICT (key) DO UPDATE SET ... WHERE <some compared column differs>`
per batch: a row whose content is the same is not written at all (its bookkeeping columns,
such as `synced_at`, keep their values). Counting costs no extra read of row contents:
- PostgreSQL: `RETURNING (xmax = 0)` tells an inserted row from an updated one; rows the
  WHERE skipped return nothing, so unchanged = batch size - returned. Large inputs are
  COPied into a temporary table first and upserted in one `INSERT ... SELECT` (psycopg
  spends longer parsing a huge multi-VALUES statement than the server spends running it).
- SQLite: one `SELECT count(*)` of the batch's keys that already exist, then an executemany
  whose rowcount is inserted + updated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from warehouse.frames import frame_to_rows
from warehouse.pg_copy import copy_rows, create_stage

__all__ = ["UpsertCounts", "frame_to_rows", "upsert_rows"]

# SQLite's default limit on bound parameters per statement (SQLITE_MAX_VARIABLE_NUMBER).
SQLITE_MAX_PARAMETERS = 32_766
# PostgreSQL's wire protocol allows 65,535 parameters per statement.
POSTGRES_MAX_PARAMETERS = 65_535
DEFAULT_BATCH_ROWS = 5_000
# From this many rows on, PostgreSQL upserts go through a COPY-filled temporary table.
POSTGRES_COPY_MIN_ROWS = 2_000


@dataclass(frozen=True)
class UpsertCounts:
    """How many rows an upsert inserted, updated and left as they were."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: UpsertCounts) -> UpsertCounts:
        """Sum of two counts (batches, or several tables)."""
        return UpsertCounts(
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
        )

    @property
    def total(self) -> int:
        """Rows seen."""
        return self.inserted + self.updated + self.unchanged


def _check_rows(
    rows: Sequence[Mapping[str, Any]], table: sa.Table, key_columns: Sequence[str]
) -> list[str]:
    """The rows' column names; every row must have the same ones, keys unique and present."""
    columns = list(rows[0].keys())
    unknown = [name for name in columns if name not in table.c]
    if unknown:
        raise ValueError(f"{table.name} has no column(s) {', '.join(unknown)}")
    missing = [name for name in key_columns if name not in columns]
    if missing:
        raise ValueError(f"rows for {table.name} lack key column(s) {', '.join(missing)}")
    expected = set(columns)
    seen: set[tuple[Any, ...]] = set()
    for index, row in enumerate(rows):
        if row.keys() != expected:
            raise ValueError(
                f"row {index} for {table.name} has columns {sorted(row.keys())},"
                f" expected {sorted(expected)}"
            )
        key = tuple(row[name] for name in key_columns)
        if any(part is None for part in key):
            raise ValueError(f"row {index} for {table.name} has a NULL key {key!r}")
        if key in seen:
            raise ValueError(f"duplicate key {key!r} for {table.name} in one upsert")
        seen.add(key)
    return columns


def _upsert_statement(
    table: sa.Table,
    dialect_name: str,
    *,
    key_columns: Sequence[str],
    update_columns: Sequence[str],
    compare_columns: Sequence[str],
    source: sa.Table | None = None,
) -> Any:
    """INSERT ... ON CONFLICT DO UPDATE ... WHERE changed (DO NOTHING without updates).

    With `source`, the rows come from that (staging) table instead of bound parameters.
    """
    module: Any = postgresql if dialect_name == "postgresql" else sqlite
    stmt = module.insert(table)
    if source is not None:
        stmt = stmt.from_select([column.name for column in source.columns], sa.select(source))
    if not update_columns:
        return stmt.on_conflict_do_nothing(index_elements=list(key_columns))
    excluded = stmt.excluded
    changed = (
        sa.or_(*(table.c[name].is_distinct_from(excluded[name]) for name in compare_columns))
        if compare_columns
        else sa.false()
    )
    return stmt.on_conflict_do_update(
        index_elements=list(key_columns),
        set_={name: excluded[name] for name in update_columns},
        where=changed,
    )


def _batch_rows(dialect_name: str, n_columns: int, n_keys: int) -> int:
    """Rows per statement, under the dialect's bound-parameter limit."""
    if dialect_name == "sqlite":
        # The key pre-select binds n_keys per row; the executemany binds per row only.
        return max(1, min(DEFAULT_BATCH_ROWS, SQLITE_MAX_PARAMETERS // max(1, n_keys)))
    return max(1, min(DEFAULT_BATCH_ROWS, POSTGRES_MAX_PARAMETERS // max(1, n_columns)))


def _existing_count(
    conn: sa.Connection, table: sa.Table, key_columns: Sequence[str], batch: Sequence[Mapping]
) -> int:
    """How many of the batch's keys are already in the table."""
    if len(key_columns) == 1:
        name = key_columns[0]
        condition = table.c[name].in_([row[name] for row in batch])
    else:
        condition = sa.tuple_(*(table.c[name] for name in key_columns)).in_(
            [tuple(row[name] for name in key_columns) for row in batch]
        )
    return conn.execute(sa.select(sa.func.count()).select_from(table).where(condition)).scalar_one()


def upsert_rows(
    conn: sa.Connection,
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    key_columns: Sequence[str],
    update_columns: Sequence[str] | None = None,
    compare_columns: Sequence[str] | None = None,
) -> UpsertCounts:
    """Insert new rows and update changed ones in large batches; same rows twice change nothing.

    `update_columns` defaults to every non-key column given; `compare_columns` (which decide
    "changed") default to those minus the table's bookkeeping columns. All rows must have the
    same columns; duplicate keys in one call are refused. Runs in the caller's transaction.
    """
    if not rows:
        return UpsertCounts()
    columns = _check_rows(rows, table, key_columns)
    updates = (
        [name for name in columns if name not in key_columns]
        if update_columns is None
        else list(update_columns)
    )
    compares = (
        [name for name in updates if not table.c[name].info.get("bookkeeping")]
        if compare_columns is None
        else list(compare_columns)
    )
    for label, names in (("update_columns", updates), ("compare_columns", compares)):
        stray = [name for name in names if name not in columns or name in key_columns]
        if stray:
            raise ValueError(f"{label} must be non-key columns of the rows: {', '.join(stray)}")
    dialect_name = conn.dialect.name
    if dialect_name not in ("sqlite", "postgresql"):
        raise NotImplementedError(f"upsert_rows supports sqlite and postgresql, not {dialect_name}")
    if dialect_name == "postgresql" and len(rows) >= POSTGRES_COPY_MIN_ROWS:
        # On an error the caller's transaction is aborted and rolls the stage back with it.
        stage = create_stage(conn, table, columns)
        copy_rows(conn, stage, rows)
        stmt = _upsert_statement(
            table,
            dialect_name,
            key_columns=key_columns,
            update_columns=updates,
            compare_columns=compares,
            source=stage,
        )
        counts = _upsert_postgresql_staged(conn, stmt, len(rows))
        stage.drop(conn)
        return counts
    stmt = _upsert_statement(
        table,
        dialect_name,
        key_columns=key_columns,
        update_columns=updates,
        compare_columns=compares,
    )
    size = _batch_rows(dialect_name, len(columns), len(key_columns))
    counts = UpsertCounts()
    for start in range(0, len(rows), size):
        batch = rows[start : start + size]
        if dialect_name == "postgresql":
            counts += _upsert_postgresql(conn, stmt, batch)
        else:
            counts += _upsert_sqlite(conn, stmt, table, key_columns, batch)
    return counts


def _upsert_postgresql(conn: sa.Connection, stmt: Any, batch: Sequence[Mapping]) -> UpsertCounts:
    """One multi-VALUES upsert; xmax = 0 marks the rows it inserted."""
    returning = stmt.returning(sa.literal_column("xmax = 0").label("inserted"))
    flags = conn.execute(returning, list(batch)).scalars().all()
    inserted = sum(1 for flag in flags if flag)
    return UpsertCounts(inserted, len(flags) - inserted, len(batch) - len(flags))


def _upsert_postgresql_staged(conn: sa.Connection, stmt: Any, n_rows: int) -> UpsertCounts:
    """One INSERT ... SELECT from the stage; counts come back aggregated, not per row."""
    upserted = stmt.returning(sa.literal_column("xmax = 0").label("inserted")).cte("upserted")
    written, inserted = conn.execute(
        sa.select(sa.func.count(), sa.func.count().filter(upserted.c.inserted))
    ).one()
    return UpsertCounts(inserted, written - inserted, n_rows - written)


def _upsert_sqlite(
    conn: sa.Connection,
    stmt: Any,
    table: sa.Table,
    key_columns: Sequence[str],
    batch: Sequence[Mapping],
) -> UpsertCounts:
    """Count existing keys, then executemany: its rowcount is inserted + updated."""
    existing = _existing_count(conn, table, key_columns, batch)
    written = conn.execute(stmt, list(batch)).rowcount
    inserted = len(batch) - existing
    return UpsertCounts(inserted, written - inserted, len(batch) - written)
