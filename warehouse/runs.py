"""Bookkeeping of sync runs: one `sync_runs` row per run and source, with counts and status."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from warehouse.schema import RUN_MODES, sync_runs

FINAL_STATUSES = ("succeeded", "failed")


@dataclass(frozen=True)
class RunCounts:
    """What a sync run read and wrote, for its `sync_runs` row."""

    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    quarantined: int = 0
    api_calls: int = 0


def start_run(
    conn: sa.Connection,
    *,
    source: str,
    mode: str,
    run_id: str | None = None,
    cursor_before: str | None = None,
) -> str:
    """Record that a sync of `source` began; returns its run id (a new uuid when not given)."""
    if mode not in RUN_MODES:
        raise ValueError(f"mode must be one of {', '.join(RUN_MODES)}, not {mode!r}")
    run_id = run_id or uuid.uuid4().hex
    conn.execute(
        sa.insert(sync_runs).values(
            run_id=run_id,
            source=source,
            started_at=datetime.now(UTC),
            status="running",
            mode=mode,
            cursor_before=cursor_before,
        )
    )
    return run_id


def finish_run(
    conn: sa.Connection,
    *,
    run_id: str,
    source: str,
    status: str,
    counts: RunCounts | None = None,
    cursor_after: str | None = None,
    message: str | None = None,
) -> None:
    """Record how a run ended (succeeded or failed), with its counts and committed cursor."""
    if status not in FINAL_STATUSES:
        raise ValueError(f"status must be one of {', '.join(FINAL_STATUSES)}, not {status!r}")
    values = {
        "ended_at": datetime.now(UTC),
        "status": status,
        "cursor_after": cursor_after,
        "message": message,
        **asdict(counts or RunCounts()),
    }
    result = conn.execute(
        sa.update(sync_runs)
        .where(
            sync_runs.c.run_id == run_id,
            sync_runs.c.source == source,
            sync_runs.c.status == "running",
        )
        .values(**values)
    )
    if result.rowcount != 1:
        raise LookupError(f"no running sync run {run_id!r} for source {source!r}")


def fail_abandoned_runs(conn: sa.Connection, *, message: str = "abandoned") -> int:
    """Mark runs still 'running' as failed; call it holding the warehouse lock after a crash."""
    result = conn.execute(
        sa.update(sync_runs)
        .where(sync_runs.c.status == "running")
        .values(status="failed", ended_at=datetime.now(UTC), message=message)
    )
    return result.rowcount


def latest_run(conn: sa.Connection, *, source: str) -> sa.Row[Any] | None:
    """The most recent sync_runs row of `source`, or None before its first run."""
    return conn.execute(
        sa.select(sync_runs)
        .where(sync_runs.c.source == source)
        .order_by(sync_runs.c.started_at.desc())
        .limit(1)
    ).first()


def record_load(
    conn: sa.Connection,
    *,
    run_id: str,
    source: str,
    counts: RunCounts,
    failed: bool,
    message: str | None,
) -> None:
    """Add what the load phase wrote to a run the extract phase finished (status may fail)."""
    values: dict[str, Any] = {
        "inserted": counts.inserted,
        "updated": counts.updated,
        "unchanged": counts.unchanged,
        "deleted": counts.deleted,
        "quarantined": counts.quarantined,
        "api_calls": counts.api_calls,
        "message": message,
        "ended_at": datetime.now(UTC),
    }
    if failed:
        values["status"] = "failed"
    result = conn.execute(
        sa.update(sync_runs)
        .where(sync_runs.c.run_id == run_id, sync_runs.c.source == source)
        .values(**values)
    )
    if result.rowcount != 1:
        raise LookupError(f"no sync run {run_id!r} for source {source!r}")
