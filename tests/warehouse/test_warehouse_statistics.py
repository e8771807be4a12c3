"""refresh_statistics: PostgreSQL learns a freshly loaded table's size; SQLite is left alone."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from warehouse.raw import load_raw_deals
from warehouse.schema import raw_deals
from warehouse.statistics import refresh_statistics


def test_statistics_follow_a_bulk_load(engine: Engine) -> None:
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        load_raw_deals(
            conn,
            source="sf",
            run_id="r1",
            payloads=[(f"d{i:05d}", "{}", stamp) for i in range(2_000)],
        )
        refresh_statistics(conn, [raw_deals])
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            tuples = conn.execute(
                sa.text("SELECT reltuples FROM pg_class WHERE oid = 'raw_deals'::regclass")
            ).scalar_one()
            assert tuples == 2_000  # the planner's row estimate; -1 (unknown) before ANALYZE
        else:
            stats = conn.execute(
                sa.text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
            ).scalar_one()
            assert stats == 0  # no ANALYZE was run on SQLite
