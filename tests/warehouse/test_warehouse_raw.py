"""Raw payloads, pending-normalization batches, cursors, and their shared transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from warehouse.cursors import read_cursor, write_cursor
from warehouse.raw import (
    load_raw_deals,
    load_raw_stage_history,
    mark_normalized,
    pending_raw_deals,
)
from warehouse.schema import raw_deals, raw_stage_history, sync_cursors
from warehouse.upsert import UpsertCounts

T0 = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)


def _ids(batches) -> list[list[str]]:
    return [[record.source_id for record in batch] for batch in batches]


def test_cursor_round_trip_and_overwrite(engine: Engine) -> None:
    with engine.begin() as conn:
        assert read_cursor(conn, "salesforce", "deals") is None
        write_cursor(conn, "salesforce", "deals", "2026-06-01T09:30:00Z")
        write_cursor(conn, "salesforce", "deals", "2026-06-02T00:00:00Z")
        write_cursor(conn, "hubspot", "deals", "1717000000000")
    with engine.connect() as conn:
        assert read_cursor(conn, "salesforce", "deals") == "2026-06-02T00:00:00Z"
        assert read_cursor(conn, "hubspot", "deals") == "1717000000000"
        assert read_cursor(conn, "salesforce", "stage_history") is None
    with pytest.raises(ValueError, match="empty cursor"), engine.begin() as conn:
        write_cursor(conn, "salesforce", "deals", "")


def test_cursor_and_raw_rows_roll_back_together(engine: Engine) -> None:
    with engine.begin() as conn:
        load_raw_deals(conn, source="sf", run_id="r1", payloads=[("a", '{"v": 1}', T0)])
        write_cursor(conn, "sf", "deals", "c1")

    class Boom(Exception):
        pass

    with pytest.raises(Boom), engine.begin() as conn:
        load_raw_deals(
            conn, source="sf", run_id="r2", payloads=[("a", '{"v": 2}', T0), ("b", "{}", T0)]
        )
        write_cursor(conn, "sf", "deals", "c2")
        assert read_cursor(conn, "sf", "deals") == "c2"  # visible inside the transaction
        raise Boom

    with engine.connect() as conn:
        assert read_cursor(conn, "sf", "deals") == "c1"
        payloads = conn.execute(sa.select(raw_deals.c.source_id, raw_deals.c.payload)).all()
    assert [tuple(row) for row in payloads] == [("a", '{"v": 1}')]


def test_raw_deals_pending_until_marked_and_again_when_changed(engine: Engine) -> None:
    payloads = [(f"d{i}", f'{{"id": {i}}}', T0) for i in range(5)]
    with engine.begin() as conn:
        first = load_raw_deals(conn, source="sf", run_id="r1", payloads=payloads)
        load_raw_deals(conn, source="hs", run_id="r1", payloads=[("x", "{}", None)])
    assert first == UpsertCounts(5, 0, 0)

    with engine.begin() as conn:
        batches = list(pending_raw_deals(conn, "sf", batch_size=2))
        assert _ids(batches) == [["d0", "d1"], ["d2", "d3"], ["d4"]]
        assert batches[0][0].payload == '{"id": 0}'
        assert batches[0][0].last_modified_at == T0
        # d3 goes to quarantine: it stays pending for the next run.
        assert mark_normalized(conn, source="sf", source_ids=["d0", "d1", "d2", "d4"]) == 4

    later = T0 + timedelta(hours=1)
    with engine.begin() as conn:
        again = load_raw_deals(
            conn,
            source="sf",
            run_id="r2",
            payloads=[("d0", '{"id": 0}', T0), ("d1", '{"id": 1, "x": 2}', later)],
        )
        pending = _ids(pending_raw_deals(conn, "sf", batch_size=10))
        assert _ids(pending_raw_deals(conn, "hs", batch_size=10)) == [["x"]]
        runs = dict(conn.execute(sa.select(raw_deals.c.source_id, raw_deals.c.run_id)).all())
    assert again == UpsertCounts(inserted=0, updated=1, unchanged=1)
    assert pending == [["d1", "d3"]]
    assert runs["d0"] == "r1" and runs["d1"] == "r2"


def test_marking_while_iterating_does_not_skip_rows(engine: Engine) -> None:
    with engine.begin() as conn:
        load_raw_deals(
            conn, source="sf", run_id="r1", payloads=[(f"d{i}", "{}", T0) for i in range(7)]
        )
        seen: list[str] = []
        for batch in pending_raw_deals(conn, "sf", batch_size=3):
            ids = [record.source_id for record in batch]
            seen.extend(ids)
            mark_normalized(conn, source="sf", source_ids=ids)
        left = list(pending_raw_deals(conn, "sf", batch_size=3))
    assert seen == [f"d{i}" for i in range(7)]
    assert left == []


def test_a_record_seen_twice_in_one_load_keeps_its_latest_version(engine: Engine) -> None:
    with engine.begin() as conn:
        counts = load_raw_deals(
            conn,
            source="sf",
            run_id="r1",
            payloads=[
                ("a", '{"v": 2}', T0 + timedelta(seconds=1)),
                ("a", '{"v": 1}', T0),  # an older copy arriving later
                ("b", '{"v": 1}', T0),
                ("b", '{"v": 2}', T0),  # same stamp: the later one wins
            ],
        )
        stored = dict(conn.execute(sa.select(raw_deals.c.source_id, raw_deals.c.payload)).all())
    assert counts == UpsertCounts(2, 0, 0)
    assert stored == {"a": '{"v": 2}', "b": '{"v": 2}'}


def test_raw_payload_must_be_text(engine: Engine) -> None:
    with pytest.raises(TypeError, match="JSON text, not dict"), engine.begin() as conn:
        load_raw_deals(conn, source="sf", run_id="r1", payloads=[("a", {"v": 1}, T0)])


def test_stage_history_upserts_count_new_changed_and_unchanged_entries(engine: Engine) -> None:
    entries = [("d1", "h1", "{}"), ("d1", "h2", "{}"), ("d2", "h3", "{}")]
    with engine.begin() as conn:
        first = load_raw_stage_history(conn, source="sf", run_id="r1", entries=entries)
        again = load_raw_stage_history(
            conn,
            source="sf",
            run_id="r2",
            entries=[*entries[:2], ("d2", "h3", '{"x":1}'), ("d3", "h4", "{}")],
        )
        stored = dict(
            conn.execute(
                sa.select(raw_stage_history.c.history_key, raw_stage_history.c.payload)
            ).all()
        )
    assert first == UpsertCounts(3, 0, 0)
    assert again == UpsertCounts(inserted=1, updated=1, unchanged=2)
    assert stored == {"h1": "{}", "h2": "{}", "h3": '{"x":1}', "h4": "{}"}


def test_pending_batch_size_is_checked(engine: Engine) -> None:
    with engine.connect() as conn, pytest.raises(ValueError, match="batch_size"):
        next(pending_raw_deals(conn, "sf", batch_size=0))


def test_cursor_table_has_one_row_per_stream(engine: Engine) -> None:
    with engine.begin() as conn:
        for value in ("a", "b", "c"):
            write_cursor(conn, "sf", "deals", value)
        count = conn.execute(sa.select(sa.func.count()).select_from(sync_cursors)).scalar()
    assert count == 1
