"""Idempotent batch upserts that tell inserted, updated and unchanged rows apart cheaply.

One `INSERT ... ON CONFLICT (key) DO UPDATE SET ... WHERE <some compared column differs>`
per batch: a row whose content is the same is not written at all (its bookkeeping columns,
such as `synced_at`, keep their values). Counting costs no extra read of row contents:
- PostgreSQL: `RETURNING (xmax = 0)` tells an inserted row from an updated one; rows the
  WHERE skipped return nothing, so unchanged = batch size - returned. Large inputs are
  COPied into a temporary table first and upserted in one `INSERT ... SELECT` (psycopg
  spends longer parsing a huge multi-VALUES statement than the server spends running it);
  when the table holds none of their keys (one indexed look-up of all keys), they are
  COPied straight into the table instead: all inserted, no stage, no conflict checks.
- SQLite: one executemany of already bound values (no per-row SQLAlchemy processing); its
  rowcount is inserted + updated, and the rows it inserted are the ones whose rowid is past
  the table's largest rowid before it (an upsert keeps an updated row's rowid). Tables whose
  rowid is an integer primary key fall back to counting the keys that already exist.

Values are bound a whole column at a time (`warehouse.types.bind_values`, or
`warehouse.frames.frame_driver_columns` for frames), with the same checks and output as the
column types' per-row bind processing.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from warehouse.frames import (
    frame_columns,
    frame_copy_columns,
    frame_driver_columns,
    frame_to_rows,
)
from warehouse.pg_copy import copy_columns, create_stage, has_any_key
from warehouse.types import bind_values

__all__ = [
    "UpsertCounts",
    "frame_to_rows",
    "insert_frame",
    "upsert_columns",
    "upsert_frame",
    "upsert_rows",
]

# SQLite's default limit on bound parameters per statement (SQLITE_MAX_VARIABLE_NUMBER).
SQLITE_MAX_PARAMETERS = 32_766
# PostgreSQL's wire protocol allows 65,535 parameters per statement.
POSTGRES_MAX_PARAMETERS = 65_535
DEFAULT_BATCH_ROWS = 5_000
# From this many rows on, PostgreSQL upserts go through a COPY-filled temporary table.
POSTGRES_COPY_MIN_ROWS = 2_000


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _gc_paused(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run a bulk write with the cyclic garbage collector paused: its value lists and tuples
    hold no cycles, yet allocating them by the hundred thousand triggers full collections
    of the process's whole heap."""

    @functools.wraps(function)
    def paused(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        if not gc.isenabled():
            return function(*args, **kwargs)
        gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            gc.enable()

    return paused


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


def _check_names(table: sa.Table, names: Sequence[str], key_columns: Sequence[str]) -> None:
    """Every name is a column of `table`, and every key column is among them."""
    unknown = [name for name in names if name not in table.c]
    if unknown:
        raise ValueError(f"{table.name} has no column(s) {', '.join(unknown)}")
    missing = [name for name in key_columns if name not in names]
    if missing:
        raise ValueError(f"rows for {table.name} lack key column(s) {', '.join(missing)}")


def _check_rows(
    rows: Sequence[Mapping[str, Any]], table: sa.Table, key_columns: Sequence[str]
) -> list[str]:
    """The rows' column names; every row must have the same ones, keys unique and present."""
    columns = list(rows[0].keys())
    _check_names(table, columns, key_columns)
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


def _resolve_columns(
    table: sa.Table,
    columns: Sequence[str],
    key_columns: Sequence[str],
    update_columns: Sequence[str] | None,
    compare_columns: Sequence[str] | None,
) -> tuple[list[str], list[str]]:
    """The update and compare column lists (defaults applied), checked against the rows'."""
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
    return updates, compares


def _check_dialect(conn: sa.Connection) -> str:
    dialect_name = conn.dialect.name
    if dialect_name not in ("sqlite", "postgresql"):
        raise NotImplementedError(f"upsert_rows supports sqlite and postgresql, not {dialect_name}")
    return dialect_name


@_gc_paused
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
    updates, compares = _resolve_columns(
        table, columns, key_columns, update_columns, compare_columns
    )
    dialect_name = _check_dialect(conn)
    if dialect_name == "postgresql" and len(rows) < POSTGRES_COPY_MIN_ROWS:
        return _upsert_postgresql_rows(
            conn, table, rows, key_columns=key_columns, updates=updates, compares=compares
        )
    plain = {name: [row[name] for row in rows] for name in columns}
    bound = {name: bind_values(table.c[name].type, plain[name], conn.dialect) for name in columns}
    return _upsert_bound(
        conn,
        table,
        bound,
        {name: plain[name] for name in key_columns},
        key_columns=key_columns,
        updates=updates,
        compares=compares,
    )


@_gc_paused
def upsert_columns(
    conn: sa.Connection,
    table: sa.Table,
    columns: Mapping[str, Sequence[Any]],
    *,
    key_columns: Sequence[str],
    update_columns: Sequence[str] | None = None,
    compare_columns: Sequence[str] | None = None,
) -> UpsertCounts:
    """`upsert_rows` for rows given column-wise (name -> equally long lists of plain values,
    as `upsert_rows` takes them): no row dicts to build and check; same checks, same counts."""
    names = list(columns)
    lengths = {len(columns[name]) for name in names}
    if len(lengths) > 1:
        raise ValueError(f"columns for {table.name} differ in length: {sorted(lengths)}")
    if not names or not lengths or lengths == {0}:
        return UpsertCounts()
    keys = {name: list(columns[name]) for name in key_columns if name in columns}
    _check_columns(table, names, key_columns, keys)
    updates, compares = _resolve_columns(table, names, key_columns, update_columns, compare_columns)
    if _check_dialect(conn) == "postgresql" and lengths.pop() < POSTGRES_COPY_MIN_ROWS:
        rows = [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]
        return _upsert_postgresql_rows(
            conn, table, rows, key_columns=key_columns, updates=updates, compares=compares
        )
    bound = {
        name: bind_values(table.c[name].type, list(columns[name]), conn.dialect) for name in names
    }
    return _upsert_bound(
        conn,
        table,
        bound,
        keys,
        key_columns=key_columns,
        updates=updates,
        compares=compares,
    )


def _check_columns(
    table: sa.Table,
    names: Sequence[str],
    key_columns: Sequence[str],
    keys: Mapping[str, list[Any]],
) -> None:
    """Known columns, key columns present, keys never NULL and unique (as `_check_rows`)."""
    _check_names(table, names, key_columns)
    key_tuples = list(zip(*(keys[name] for name in key_columns), strict=True))
    if any(None in keys[name] for name in key_columns):
        for index, key in enumerate(key_tuples):
            if any(part is None for part in key):
                raise ValueError(f"row {index} for {table.name} has a NULL key {key!r}")
    unique = set(keys[key_columns[0]]) if len(key_columns) == 1 else set(key_tuples)
    if len(unique) != len(key_tuples):
        seen: set[tuple[Any, ...]] = set()
        for key in key_tuples:
            if key in seen:
                raise ValueError(f"duplicate key {key!r} for {table.name} in one upsert")
            seen.add(key)


@_gc_paused
def upsert_frame(
    conn: sa.Connection,
    table: sa.Table,
    frame: pd.DataFrame,
    *,
    key_columns: Sequence[str],
    update_columns: Sequence[str] | None = None,
    compare_columns: Sequence[str] | None = None,
) -> UpsertCounts:
    """`upsert_rows` for a frame (typed as `frame_to_rows` takes it), converted a column at a
    time instead of a row at a time; same checks, same counts."""
    if frame.empty:
        return UpsertCounts()
    columns = [str(name) for name in frame.columns]
    missing = [name for name in key_columns if name not in columns]
    keys = frame_columns(frame[list(key_columns)]) if not missing else {}
    _check_columns(table, columns, key_columns, keys)
    updates, compares = _resolve_columns(
        table, columns, key_columns, update_columns, compare_columns
    )
    dialect_name = _check_dialect(conn)
    if dialect_name == "postgresql" and len(frame) < POSTGRES_COPY_MIN_ROWS:
        return _upsert_postgresql_rows(
            conn,
            table,
            frame_to_rows(frame),
            key_columns=key_columns,
            updates=updates,
            compares=compares,
        )
    bound = _frame_bound(frame, table, conn.dialect)
    return _upsert_bound(
        conn, table, bound, keys, key_columns=key_columns, updates=updates, compares=compares
    )


@_gc_paused
def insert_frame(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame) -> int:
    """Plain INSERT of every row of a frame, bound a column at a time; returns rows written."""
    if frame.empty:
        return 0
    dialect_name = _check_dialect(conn)
    bound = _frame_bound(frame, table, conn.dialect)
    if dialect_name == "postgresql":
        copy_columns(conn, table, bound)
    else:
        _executemany_bound(conn, sa.insert(table), bound)
    return len(frame)


def _frame_bound(frame: pd.DataFrame, table: sa.Table, dialect: sa.Dialect) -> dict[str, list]:
    """A frame's bound columns: for the executemany (SQLite) or the COPY (PostgreSQL)."""
    if dialect.name == "postgresql":
        return frame_copy_columns(frame, table, dialect)
    return frame_driver_columns(frame, table, dialect)


def _upsert_postgresql_rows(
    conn: sa.Connection,
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    key_columns: Sequence[str],
    updates: Sequence[str],
    compares: Sequence[str],
) -> UpsertCounts:
    """Small PostgreSQL upserts: multi-VALUES statements through the types' bind processing."""
    stmt = _upsert_statement(
        table,
        "postgresql",
        key_columns=key_columns,
        update_columns=updates,
        compare_columns=compares,
    )
    size = _batch_rows("postgresql", len(rows[0]), len(key_columns))
    counts = UpsertCounts()
    for start in range(0, len(rows), size):
        counts += _upsert_postgresql(conn, stmt, rows[start : start + size])
    return counts


def _upsert_bound(
    conn: sa.Connection,
    table: sa.Table,
    bound: Mapping[str, list[Any]],
    plain_keys: Mapping[str, list[Any]],
    *,
    key_columns: Sequence[str],
    updates: Sequence[str],
    compares: Sequence[str],
) -> UpsertCounts:
    """Upsert already bound columns: COPY + INSERT ... SELECT (PostgreSQL), executemany (SQLite)."""
    dialect_name = conn.dialect.name
    n_rows = len(next(iter(bound.values())))
    if dialect_name == "postgresql":
        if not has_any_key(conn, table, plain_keys):
            # Every key is new: COPY straight into the table, no stage and no conflict checks.
            copy_columns(conn, table, bound)
            return UpsertCounts(inserted=n_rows)
        # On an error the caller's transaction is aborted and rolls the stage back with it.
        stage = create_stage(conn, table, list(bound))
        copy_columns(conn, stage, bound)
        stmt = _upsert_statement(
            table,
            dialect_name,
            key_columns=key_columns,
            update_columns=updates,
            compare_columns=compares,
            source=stage,
        )
        counts = _upsert_postgresql_staged(conn, stmt, n_rows)
        stage.drop(conn)
        return counts
    stmt = _upsert_statement(
        table,
        dialect_name,
        key_columns=key_columns,
        update_columns=updates,
        compare_columns=compares,
    )
    before = _max_rowid(conn, table) if _rowid_counts_inserts(table) else _NO_ROWID
    if before is _NO_ROWID or (isinstance(before, int) and before >= _MAX_ROWID):
        existing = 0
        size = _batch_rows(dialect_name, len(bound), len(key_columns))
        for start in range(0, n_rows, size):
            chunk = [
                {name: plain_keys[name][i] for name in key_columns}
                for i in range(start, min(n_rows, start + size))
            ]
            existing += _existing_count(conn, table, key_columns, chunk)
        written = _executemany_bound(conn, stmt, bound)
        inserted = n_rows - existing
    else:
        written = _executemany_bound(conn, stmt, bound)
        inserted = _rows_after(conn, table, before)
    return UpsertCounts(inserted, written - inserted, n_rows - written)


_NO_ROWID: Any = object()
_MAX_ROWID = 2**63 - 1


def _rowid() -> sa.ColumnElement[int]:
    """SQLite's implicit row id of the table selected from."""
    return sa.literal_column("rowid")


def _rowid_counts_inserts(table: sa.Table) -> bool:
    """True when SQLite allocates the table's rowids itself (no INTEGER PRIMARY KEY alias)."""
    primary = list(table.primary_key.columns)
    return not (len(primary) == 1 and isinstance(primary[0].type, sa.Integer))


def _max_rowid(conn: sa.Connection, table: sa.Table) -> int | None:
    return conn.execute(sa.select(sa.func.max(_rowid())).select_from(table)).scalar_one()


def _rows_after(conn: sa.Connection, table: sa.Table, before: int | None) -> int:
    """Rows whose rowid is past `before` (new rows get max(rowid) + 1 and up)."""
    query = sa.select(sa.func.count()).select_from(table)
    if before is not None:
        query = query.where(_rowid() > before)
    return conn.execute(query).scalar_one()


def _executemany_bound(conn: sa.Connection, stmt: Any, bound: Mapping[str, list[Any]]) -> int:
    """Run a Core INSERT for every row of already bound columns; returns the rowcount.

    The statement is compiled by SQLAlchemy (bound parameters only) and handed to the driver
    with plain tuples, so no per-row SQLAlchemy processing runs a second time.
    """
    compiled = stmt.compile(dialect=conn.dialect, column_keys=list(bound))
    order = list(compiled.positiontup or [])
    stray = [name for name in order if name not in bound]
    if stray:
        raise ValueError(f"cannot bind {', '.join(stray)} from the given columns")
    params = list(zip(*(bound[name] for name in order), strict=True))
    if not params:
        return 0
    return conn.exec_driver_sql(str(compiled), params).rowcount


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
