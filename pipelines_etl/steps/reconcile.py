"""Reconcile deletions nobody announced: ids the CRM no longer lists are marked deleted.

Salesforce empties its recycle bin after 15 days and HubSpot merges remove ids, so an
incremental sync alone would keep such deals open forever. A guard refuses to mark more than
half of a source's live deals deleted at once (an empty id list from a permissions change
must not wipe the pipeline).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from connectors.base import CrmConnector
from warehouse.cursors import read_cursor, write_cursor
from warehouse.deals_load import mark_missing_deleted
from warehouse.schema import deals

RECONCILED_STREAM = "reconciled_at"
MAX_DELETED_SHARE = 0.5


class ReconcileRefused(RuntimeError):
    """The CRM's id list would delete too much of the warehouse to be trusted."""


def reconcile_due(conn: sa.Connection, *, source: str, every_days: int, full: bool) -> bool:
    """True on a full sync, or when the last reconciliation is older than `every_days`."""
    if full:
        return True
    last = read_cursor(conn, source, RECONCILED_STREAM)
    if last is None:
        return True
    return datetime.fromisoformat(last) <= datetime.now(UTC) - timedelta(days=every_days)


def reconcile_deletions(*, engine: sa.Engine, connector: CrmConnector) -> int:
    """Mark deals the CRM no longer has as deleted; returns how many were marked."""
    source = connector.source
    present: set[str] = set()
    for page in connector.deal_ids():
        present.update(page)
    with engine.begin() as conn:
        live = conn.execute(
            sa.select(sa.func.count()).where(
                deals.c.source == source, deals.c.is_deleted.is_(False)
            )
        ).scalar_one()
        missing_estimate = live - len(present)
        if live and missing_estimate > live * MAX_DELETED_SHARE:
            raise ReconcileRefused(
                f"{source}: the CRM lists {len(present)} deals but the warehouse holds {live}"
                " live ones; refusing to mark more than half deleted (check the integration"
                " user's permissions, then run `pipelines-etl sync --full`)"
            )
        marked = mark_missing_deleted(conn, source=source, present_ids=present)
        write_cursor(conn, source, RECONCILED_STREAM, datetime.now(UTC).isoformat())
    return len(marked)
