"""End to end: more than 10,000 HubSpot deals changed since the cursor survive the search
API's 10,000-result cap (windows are halved; one millisecond over the cap is paged by id)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from warehouse.cursors import write_cursor
from warehouse.schema import deals

pytestmark = pytest.mark.e2e

CHANGED = 10_500


def _busy_portal(world: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """10,500 deals modified within two seconds, 10,000 of them in one millisecond (paged by id)."""
    data = world(salesforce=False)
    for i in range(CHANGED):
        stamp = "2026-05-20T10:00:00.000Z" if i < 10_000 else f"2026-05-20T10:00:01.{i % 1000:03d}Z"
        data["hubspot"]["deals"].append(
            {"id": str(100_000 + i), "properties": {
                "dealname": f"Import {i}", "amount": str(i), "dealstage": "qualifiedtobuy",
                "createdate": "2026-05-01T00:00:00Z", "hs_lastmodifieddate": stamp}}
        )  # fmt: skip
    return data


def test_more_than_ten_thousand_changed_deals_survive_the_search_cap(
    harness: Callable[..., Any], world: Callable[..., dict[str, Any]]
) -> None:
    h = harness("sqlite", fixture=_busy_portal(world), apis=["hubspot"])
    # A warehouse whose cursor predates the import: the next sync must search all of it.
    with h.engine.begin() as conn:
        write_cursor(conn, "hubspot", "deals", "2026-05-19T00:00:00.000Z")
        write_cursor(conn, "hubspot", "reconciled_at", "2099-01-01T00:00:00+00:00")
    outcome = h.sync()
    assert outcome.ok, outcome.sources[0].message
    with h.engine.connect() as conn:
        ids = set(
            conn.execute(sa.select(deals.c.source_id).where(deals.c.source == "hubspot")).scalars()
        )
    # Every deal modified since the cursor, each read once: the import, 9001, 9002 and 9005.
    assert ids == {str(100_000 + i) for i in range(CHANGED)} | {"9001", "9002", "9005"}
    run = h.runs("hubspot")[-1]
    assert (run["rows_read"], run["inserted"]) == (CHANGED + 3, CHANGED + 3)
    assert run["cursor_after"] == "2026-06-01T08:00:00.000Z"  # 9002, the latest
