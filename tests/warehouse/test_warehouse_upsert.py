"""Batch upserts: counts, idempotency, bookkeeping columns, parameter limits, bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pyarrow as pa
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from warehouse.schema import deals, raw_stage_history
from warehouse.upsert import UpsertCounts, frame_to_rows, upsert_rows

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _deals(n: int, *, amount: str = "100.50", synced_at: datetime = T0) -> list[dict]:
    return [
        {
            "deal_key": f"hubspot:{i}",
            "source": "hubspot",
            "source_type": "hubspot",
            "source_id": str(i),
            "status": "open",
            "motion": "new_business",
            "amount": Decimal(amount),
            "created_at": T0,
            "synced_at": synced_at,
        }
        for i in range(n)
    ]


def _all(engine: Engine) -> list[tuple]:
    with engine.connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                sa.select(deals.c.deal_key, deals.c.amount, deals.c.synced_at).order_by(
                    deals.c.deal_key
                )
            )
        ]


def test_insert_then_unchanged_then_update(engine: Engine) -> None:
    with engine.begin() as conn:
        first = upsert_rows(conn, deals, _deals(3), key_columns=["deal_key"])
    content = _all(engine)

    later = T0 + timedelta(days=1)
    with engine.begin() as conn:
        again = upsert_rows(conn, deals, _deals(3, synced_at=later), key_columns=["deal_key"])
    # Same content: nothing written, not even the bookkeeping synced_at.
    assert _all(engine) == content

    rows = _deals(5, synced_at=later)
    rows[0]["amount"] = Decimal("200")
    rows[1]["amount"] = Decimal("100.5000")  # same number, other spelling: unchanged
    with engine.begin() as conn:
        third = upsert_rows(conn, deals, rows, key_columns=["deal_key"])

    assert first == UpsertCounts(inserted=3, updated=0, unchanged=0)
    assert again == UpsertCounts(inserted=0, updated=0, unchanged=3)
    assert third == UpsertCounts(inserted=2, updated=1, unchanged=2)
    after = {key: (amount, synced) for key, amount, synced in _all(engine)}
    assert after["hubspot:0"] == (Decimal("200"), later)
    assert after["hubspot:1"] == (Decimal("100.50"), T0)
    assert after["hubspot:4"] == (Decimal("100.50"), later)


def test_null_to_value_and_back_counts_as_change(engine: Engine) -> None:
    rows = _deals(1)
    with engine.begin() as conn:
        upsert_rows(conn, deals, rows, key_columns=["deal_key"])
        rows[0]["amount"] = None
        to_null = upsert_rows(conn, deals, rows, key_columns=["deal_key"])
        same_null = upsert_rows(conn, deals, rows, key_columns=["deal_key"])
    assert to_null == UpsertCounts(0, 1, 0)
    assert same_null == UpsertCounts(0, 0, 1)


def test_update_columns_limit_what_is_written(engine: Engine) -> None:
    with engine.begin() as conn:
        upsert_rows(conn, deals, _deals(1), key_columns=["deal_key"])
        rows = _deals(1, amount="5")
        rows[0]["status"] = "won"
        counts = upsert_rows(conn, deals, rows, key_columns=["deal_key"], update_columns=["status"])
        row = conn.execute(sa.select(deals.c.status, deals.c.amount)).one()
    assert counts == UpsertCounts(0, 1, 0)
    assert tuple(row) == ("won", Decimal("100.50"))


def test_more_rows_than_sqlite_binds_in_one_statement(engine: Engine) -> None:
    # 3 key columns x 12,000 rows = 36,000 keys to look up, above SQLite's 32,766 binds;
    # 6 columns x 12,000 = 72,000 values, above PostgreSQL's 65,535 per statement.
    n = 12_000
    rows = [
        {
            "source": "salesforce",
            "source_id": f"006{i // 4:06d}",
            "history_key": f"h{i:06d}",
            "payload": "{}",
            "extracted_at": T0,
            "run_id": "r1",
        }
        for i in range(n)
    ]
    keys = ["source", "source_id", "history_key"]
    with engine.begin() as conn:
        first = upsert_rows(conn, raw_stage_history, rows, key_columns=keys)
    rows[-1] = {**rows[-1], "payload": '{"changed": true}'}
    with engine.begin() as conn:
        second = upsert_rows(conn, raw_stage_history, rows, key_columns=keys)
        stored = conn.execute(sa.select(sa.func.count()).select_from(raw_stage_history)).scalar()
    assert first == UpsertCounts(inserted=n, updated=0, unchanged=0)
    assert second == UpsertCounts(inserted=0, updated=1, unchanged=n - 1)
    assert stored == n


def test_empty_input_is_a_no_op(engine: Engine) -> None:
    with engine.begin() as conn:
        assert upsert_rows(conn, deals, [], key_columns=["deal_key"]) == UpsertCounts()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda rows: rows.append(dict(rows[0])), "duplicate key"),
        (lambda rows: rows[1].pop("amount"), "has columns"),
        (lambda rows: rows[0].update(deal_key=None), "NULL key"),
        (lambda rows: [row.update(nope=1) for row in rows], "no column"),
        (lambda rows: [row.pop("deal_key") for row in rows], "lack key column"),
    ],
)
def test_bad_rows_are_refused_before_anything_is_written(
    engine: Engine, mutate, message: str
) -> None:
    rows = _deals(2)
    mutate(rows)
    with pytest.raises(ValueError, match=message), engine.begin() as conn:
        upsert_rows(conn, deals, rows, key_columns=["deal_key"])
    assert _all(engine) == []


def test_update_and_compare_columns_must_be_given_non_key_columns(engine: Engine) -> None:
    # Updating a column the rows lack would overwrite it with NULL: refused.
    rows = _deals(1)
    update = "update_columns must be non-key columns of the rows: name"
    with engine.connect() as conn, pytest.raises(ValueError, match=update):
        upsert_rows(conn, deals, rows, key_columns=["deal_key"], update_columns=["name"])
    compare = "compare_columns must be non-key columns of the rows: deal_key"
    with engine.connect() as conn, pytest.raises(ValueError, match=compare):
        upsert_rows(conn, deals, rows, key_columns=["deal_key"], compare_columns=["deal_key"])


def test_frame_to_rows_gives_plain_exact_values(new_york_tz: str) -> None:
    frame = pd.DataFrame(
        {
            "deal_key": pd.Series(["a:1", "a:2", None], dtype="str"),
            "amount": pd.Series(
                [Decimal("12345678901234.123456"), None, Decimal("0.1")],
                dtype=pd.ArrowDtype(pa.decimal128(24, 6)),
            ),
            "amount_cents": pd.Series([12050, None, -1], dtype="Int64"),
            "created_at": pd.to_datetime(
                ["2026-05-01T08:00:00.123456-04:00", None, "2026-01-01T00:00:00Z"],
                format="ISO8601",
                utc=True,
            ),
            "stage_number": pd.Series([3, pd.NA, 6], dtype="Int64"),
            "is_deleted": pd.Series([True, False, pd.NA], dtype="boolean"),
        }
    )
    rows = frame_to_rows(frame, minor_units={"amount_cents": 2})
    assert rows[0] == {
        "deal_key": "a:1",
        "amount": Decimal("12345678901234.123456"),
        "amount_cents": Decimal("120.50"),
        "created_at": datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=UTC),
        "stage_number": 3,
        "is_deleted": True,
    }
    assert rows[1] == dict.fromkeys(rows[1]) | {"deal_key": "a:2", "is_deleted": False}
    assert rows[2]["deal_key"] is None and rows[2]["is_deleted"] is None
    assert rows[2]["amount_cents"] == Decimal("-0.01")
    assert type(rows[0]["stage_number"]) is int
    assert type(rows[0]["created_at"]) is datetime and rows[0]["created_at"].tzinfo is UTC


def test_frame_to_rows_refuses_naive_timestamps() -> None:
    frame = pd.DataFrame({"created_at": pd.to_datetime(["2026-01-01T00:00:00"])})
    with pytest.raises(ValueError, match="naive"):
        frame_to_rows(frame)


def test_frame_to_rows_refuses_floats_as_minor_units() -> None:
    with pytest.raises(TypeError, match="not integer minor units"):
        frame_to_rows(pd.DataFrame({"amount": [1.5]}), minor_units={"amount": 2})
    with pytest.raises(ValueError, match="not in the frame"):
        frame_to_rows(pd.DataFrame({"amount": [1]}), minor_units={"amont": 2})


def test_frame_rows_load_through_upsert(engine: Engine) -> None:
    frame = pd.DataFrame(
        {
            "deal_key": ["h:1", "h:2"],
            "source": ["h", "h"],
            "source_type": ["hubspot", "hubspot"],
            "source_id": ["1", "2"],
            "status": ["open", "won"],
            "motion": ["new_business", "new_business"],
            "amount": pd.Series([Decimal("0.30"), None], dtype=pd.ArrowDtype(pa.decimal128(24, 6))),
            "synced_at": pd.to_datetime(["2026-05-01T12:00:00Z"] * 2, utc=True),
        }
    )
    with engine.begin() as conn:
        counts = upsert_rows(conn, deals, frame_to_rows(frame), key_columns=["deal_key"])
    assert counts == UpsertCounts(2, 0, 0)
    assert _all(engine) == [("h:1", Decimal("0.3"), T0), ("h:2", None, T0)]


@pytest.mark.parametrize("n", [3, 3_000])  # 3,000 rows: PostgreSQL's COPY-staged path
def test_a_float_amount_in_a_batch_fails_the_whole_batch(engine: Engine, n: int) -> None:
    rows = _deals(n)
    rows[-1]["amount"] = 1.5
    with (
        pytest.raises((TypeError, sa.exc.StatementError), match="not float"),
        engine.begin() as conn,
    ):
        upsert_rows(conn, deals, rows, key_columns=["deal_key"])
    assert _all(engine) == []


def test_staged_upserts_twice_in_one_transaction(engine: Engine) -> None:
    with engine.begin() as conn:
        first = upsert_rows(conn, deals, _deals(2_500), key_columns=["deal_key"])
        second = upsert_rows(conn, deals, _deals(2_600, amount="7"), key_columns=["deal_key"])
    assert first == UpsertCounts(2_500, 0, 0)
    assert second == UpsertCounts(100, 2_500, 0)
    assert _all(engine)[-1] == ("hubspot:999", Decimal("7"), T0)
