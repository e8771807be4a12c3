"""What the report says about where its numbers come from: sources, deal counts, last syncs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from warehouse.schema import deals, sync_runs


@dataclass(frozen=True)
class SourceLine:
    """One CRM instance in the warehouse: its type, live deals, last successful sync."""

    name: str
    source_type: str
    deals: int
    last_sync: dt.datetime | None


def source_lines(engine: sa.Engine) -> list[SourceLine]:
    """Every source with live deals, with its last successful sync's end time."""
    live = deals.c.is_deleted.is_(False)
    with engine.connect() as conn:
        counted = conn.execute(
            sa.select(deals.c.source, deals.c.source_type, sa.func.count())
            .where(live)
            .group_by(deals.c.source, deals.c.source_type)
            .order_by(deals.c.source, deals.c.source_type)
        ).all()
        synced = dict(
            conn.execute(
                sa.select(sync_runs.c.source, sa.func.max(sync_runs.c.ended_at))
                .where(sync_runs.c.status == "succeeded")
                .group_by(sync_runs.c.source)
            ).all()
        )
    return [
        SourceLine(name=name, source_type=kind, deals=int(n), last_sync=synced.get(name))
        for name, kind, n in counted
    ]


def owner_names(engine: sa.Engine) -> dict[str, str]:
    """owner_email -> the rep's name as the deals carry it (the first name seen, by email)."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(deals.c.owner_email, sa.func.min(deals.c.owner_name))
            .where(deals.c.owner_email.is_not(None), deals.c.owner_name.is_not(None))
            .group_by(deals.c.owner_email)
        ).all()
    return {str(email): str(name) for email, name in rows}
