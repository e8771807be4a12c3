"""Daily deal snapshots: one row per open deal per day the sync runs, plus the deals closed or
deleted since the previous snapshot (what forecast accuracy is measured against)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa

from warehouse.schema import deal_snapshots, deals

SNAPSHOT_COLUMNS = (
    "deal_key",
    "source",
    "pipeline",
    "motion",
    "status",
    "stage_number",
    "stage",
    "amount",
    "currency",
    "amount_reporting",
    "probability",
    "close_date",
    "forecast_category",
    "owner_email",
    "is_deleted",
)


def previous_snapshot_time(conn: sa.Connection, *, before: date) -> datetime | None:
    """When the last snapshot before `before` was taken."""
    return conn.execute(
        sa.select(sa.func.max(deal_snapshots.c.taken_at)).where(
            deal_snapshots.c.snapshot_date < before
        )
    ).scalar_one_or_none()


def take_snapshot(conn: sa.Connection, *, snapshot_date: date) -> int:
    """(Re)write the snapshot of `snapshot_date` from `deals`; returns its row count."""
    since = previous_snapshot_time(conn, before=snapshot_date)
    taken_at = datetime.now(UTC)
    live_open = sa.and_(deals.c.status == "open", deals.c.is_deleted.is_(False))
    condition: sa.ColumnElement[bool] = live_open
    if since is not None:
        condition = sa.or_(
            live_open,
            deals.c.closed_at >= since,
            sa.and_(deals.c.is_deleted.is_(True), deals.c.synced_at >= since),
        )
    select = sa.select(
        sa.literal(snapshot_date, type_=deal_snapshots.c.snapshot_date.type).label("snapshot_date"),
        *(deals.c[name] for name in SNAPSHOT_COLUMNS),
        sa.literal(taken_at, type_=deal_snapshots.c.taken_at.type).label("taken_at"),
    ).where(condition)
    conn.execute(sa.delete(deal_snapshots).where(deal_snapshots.c.snapshot_date == snapshot_date))
    conn.execute(
        sa.insert(deal_snapshots).from_select(
            ["snapshot_date", *SNAPSHOT_COLUMNS, "taken_at"], select
        )
    )
    return conn.execute(
        sa.select(sa.func.count()).where(deal_snapshots.c.snapshot_date == snapshot_date)
    ).scalar_one()
