"""Persistence of the stale-deal flags (`stale_deal_flags`) and of every flag write (`flag_writes`).

Plain SQLAlchemy Core: the lifecycle itself lives in `pipelines_etl.flags`; this module reads
the rows it needs, and writes what it decided, inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa

from warehouse.schema import deal_stage_history, deals, flag_writes, stale_deal_flags
from warehouse.upsert import UpsertCounts, upsert_rows

# Columns of `deals` the detection and the plan read.
DEAL_COLUMNS: tuple[str, ...] = (
    "deal_key", "source", "source_type", "source_id", "pipeline", "source_stage",
    "stage_number", "stage", "status", "motion", "amount", "currency", "amount_reporting",
    "probability", "forecast_category", "owner_id", "owner_name", "owner_email",
    "lead_channel", "created_at", "close_date", "closed_at", "stage_entered_at",
    "last_activity_at", "last_modified_at", "is_deleted", "flag_stale", "flag_reason",
    "flag_since", "synced_at",
)  # fmt: skip
STAY_COLUMNS: tuple[str, ...] = (
    "deal_key", "stage_number", "entered_at", "exited_at", "exit_reason", "duration_days",
)  # fmt: skip
FLAG_ROW_COLUMNS: tuple[str, ...] = tuple(c.name for c in stale_deal_flags.columns)
_IN_CHUNK = 500


def _where_sources(column: sa.ColumnElement[Any], sources: Collection[str] | None) -> list[Any]:
    return [] if sources is None else [column.in_(sorted(sources))]


def read_deals_frame(conn: sa.Connection) -> pd.DataFrame:
    """Every deal (DEAL_COLUMNS), values as the warehouse types return them (object columns)."""
    query = sa.select(*(deals.c[name] for name in DEAL_COLUMNS)).order_by(deals.c.deal_key)
    rows = [tuple(row) for row in conn.execute(query)]
    return pd.DataFrame(rows, columns=list(DEAL_COLUMNS), dtype=object)


def read_stays_frame(conn: sa.Connection) -> pd.DataFrame:
    """Every stay of `deal_stage_history` (STAY_COLUMNS), object columns."""
    query = sa.select(*(deal_stage_history.c[name] for name in STAY_COLUMNS))
    rows = [tuple(row) for row in conn.execute(query)]
    return pd.DataFrame(rows, columns=list(STAY_COLUMNS), dtype=object)


def read_flag_write_times(conn: sa.Connection) -> pd.DataFrame:
    """One row per successful flag write (deal_key, written_at, modified_before)."""
    query = (
        sa.select(
            flag_writes.c.deal_key,
            flag_writes.c.written_at,
            sa.func.max(flag_writes.c.modified_before).label("modified_before"),
        )
        .where(flag_writes.c.result == "succeeded")
        .group_by(flag_writes.c.deal_key, flag_writes.c.written_at)
    )
    rows = [tuple(row) for row in conn.execute(query)]
    return pd.DataFrame(rows, columns=["deal_key", "written_at", "modified_before"], dtype=object)


def read_flag_rows(
    conn: sa.Connection, *, sources: Collection[str] | None = None
) -> dict[str, dict[str, Any]]:
    """deal_key -> its `stale_deal_flags` row (all columns), optionally for some sources."""
    query = sa.select(stale_deal_flags).where(*_where_sources(stale_deal_flags.c.source, sources))
    return {row.deal_key: dict(row._mapping) for row in conn.execute(query)}


def read_plan_rows(
    conn: sa.Connection, *, sources: Collection[str] | None = None
) -> list[dict[str, Any]]:
    """Flag rows joined with their deal's current values (`deal_*` keys; None when no deal)."""
    deal_columns = [
        deals.c[name].label(f"deal_{name}")
        for name in (
            "source_type", "source_stage", "amount", "close_date", "owner_id", "status",
            "is_deleted", "flag_stale", "flag_reason", "flag_since", "synced_at", "name",
        )
    ]  # fmt: skip
    query = (
        sa.select(stale_deal_flags, *deal_columns)
        .select_from(
            stale_deal_flags.outerjoin(deals, deals.c.deal_key == stale_deal_flags.c.deal_key)
        )
        .where(*_where_sources(stale_deal_flags.c.source, sources))
        .order_by(stale_deal_flags.c.source, stale_deal_flags.c.deal_key)
    )
    return [dict(row._mapping) for row in conn.execute(query)]


def open_deal_counts(conn: sa.Connection) -> dict[str, int]:
    """Open, non-deleted deals per source (the base of the safety limit's share)."""
    query = (
        sa.select(deals.c.source, sa.func.count())
        .where(deals.c.status == "open", deals.c.is_deleted.is_(False))
        .group_by(deals.c.source)
    )
    return {source: int(count) for source, count in conn.execute(query)}


def save_flag_rows(conn: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> UpsertCounts:
    """Insert or update whole `stale_deal_flags` rows by deal_key (updated_at stamped now)."""
    if not rows:
        return UpsertCounts()
    now = datetime.now(UTC)
    full = [
        {name: row.get(name) for name in FLAG_ROW_COLUMNS} | {"updated_at": now} for row in rows
    ]
    for row in full:
        row["attempts"] = row["attempts"] or 0
    return upsert_rows(conn, stale_deal_flags, full, key_columns=["deal_key"])


def touch_flag_rows(conn: sa.Connection, deal_keys: Sequence[str], detected_at: datetime) -> None:
    """Set `detected_at` (updated_at stamped now) of rows whose other columns stay as they
    are: what `save_flag_rows` would write for them, without rewriting every column. A row
    already at `detected_at` is left alone, as the upsert leaves an unchanged row."""
    now = datetime.now(UTC)
    for start in range(0, len(deal_keys), _IN_CHUNK):
        conn.execute(
            sa.update(stale_deal_flags)
            .where(
                stale_deal_flags.c.deal_key.in_(deal_keys[start : start + _IN_CHUNK]),
                stale_deal_flags.c.detected_at.is_distinct_from(detected_at),
            )
            .values(detected_at=detected_at, updated_at=now)
        )


def update_flag_row(conn: sa.Connection, deal_key: str, values: Mapping[str, Any]) -> None:
    """Change some columns of one flag row (after a write, a skip or a failure)."""
    conn.execute(
        sa.update(stale_deal_flags)
        .where(stale_deal_flags.c.deal_key == deal_key)
        .values(**values, updated_at=datetime.now(UTC))
    )


def record_flag_writes(conn: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    """Append `flag_writes` rows (one per field written, failed or skipped); returns how many."""
    if not rows:
        return 0
    conn.execute(sa.insert(flag_writes), [dict(row) for row in rows])
    return len(rows)


def read_flag_writes(
    conn: sa.Connection, *, run_id: str | None = None, deal_key: str | None = None
) -> list[dict[str, Any]]:
    """`flag_writes` rows, oldest first, optionally of one run or one deal."""
    where = []
    if run_id is not None:
        where.append(flag_writes.c.run_id == run_id)
    if deal_key is not None:
        where.append(flag_writes.c.deal_key == deal_key)
    query = sa.select(flag_writes).where(*where).order_by(flag_writes.c.id)
    return [dict(row._mapping) for row in conn.execute(query)]
