"""Bulk write paths: COPY text (escapes, NULLs, dumped values), straight COPY of new keys,
column-wise date and boolean binding, and the garbage collector left as it was."""

from __future__ import annotations

import gc
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pandas as pd
import pyarrow as pa
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from warehouse.engine import create_warehouse_engine
from warehouse.frames import frame_columns, frame_copy_columns, frame_driver_columns
from warehouse.migrate import upgrade
from warehouse.pg_copy import copy_columns, has_any_key
from warehouse.schema import deal_stage_history, deals, raw_deals
from warehouse.upsert import UpsertCounts, insert_frame, upsert_columns, upsert_frame

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
TRICKY = [
    'a\tb\nc\rd\\e "quoted" \\N',
    "\\.",
    "",
    "ünïcødé ✓ 日本",
    "\\\\t two backslashes",
    "trailing backslash \\",
]


def _raw_columns(n: int, *, payload: str = "") -> dict[str, list]:
    payloads = [TRICKY[i % len(TRICKY)] + payload for i in range(n)]
    return {
        "source": ["h"] * n,
        "source_id": [f"{i:05d}" for i in range(n)],
        "payload": payloads,
        "last_modified_at": [
            None if i % 7 == 0 else T0 + timedelta(microseconds=i) for i in range(n)
        ],
        "extracted_at": [T0] * n,
        "run_id": ["r1"] * n,
    }


def _raw_content(engine: Engine) -> list[tuple]:
    t = raw_deals
    with engine.connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                sa.select(
                    t.c.source_id, t.c.payload, t.c.last_modified_at, t.c.extracted_at
                ).order_by(t.c.source_id)
            )
        ]


@pytest.mark.parametrize("n", [20, 2_500])  # 2,500 rows: PostgreSQL's COPY paths
def test_text_round_trips_and_counts_through_copy(engine: Engine, n: int) -> None:
    columns = _raw_columns(n)
    keys = ["source", "source_id"]
    compare = ["payload", "last_modified_at"]
    with engine.begin() as conn:
        first = upsert_columns(conn, raw_deals, columns, key_columns=keys, compare_columns=compare)
    expected = [
        (sid, payload, modified, T0)
        for sid, payload, modified in zip(
            columns["source_id"], columns["payload"], columns["last_modified_at"], strict=True
        )
    ]
    assert first == UpsertCounts(n, 0, 0)
    assert _raw_content(engine) == expected

    later = {**columns, "extracted_at": [T0 + timedelta(days=1)] * n}
    with engine.begin() as conn:
        again = upsert_columns(conn, raw_deals, later, key_columns=keys, compare_columns=compare)
    assert again == UpsertCounts(0, 0, n)
    assert _raw_content(engine) == expected  # bookkeeping untouched

    # Two changed, one new (the table already holds the others: the staged path).
    mixed = {name: [*values, values[-1]] for name, values in later.items()}
    mixed["source_id"][-1] = "new"
    mixed["payload"][0] = "changed\ttab"
    mixed["last_modified_at"][1] = T0 - timedelta(days=1)
    with engine.begin() as conn:
        third = upsert_columns(conn, raw_deals, mixed, key_columns=keys, compare_columns=compare)
    assert third == UpsertCounts(1, 2, n - 2)
    content = dict((row[0], row[1:]) for row in _raw_content(engine))
    assert content[columns["source_id"][0]][0] == "changed\ttab"
    assert content["new"][0] == mixed["payload"][-1]


def test_insert_frame_copies_text_dates_and_floats(engine: Engine, new_york_tz: str) -> None:
    stays = pd.DataFrame(
        {
            "deal_key": ["h:1", "h:1", "h:2"],
            "entered_at": pd.to_datetime(
                ["2026-03-08T01:59:59.999999-05:00", "2026-03-09T10:00:00Z", "1999-12-31T23:00Z"],
                utc=True,
                format="ISO8601",
            ),
            "source": ["h", "h", "h"],
            "stage_number": pd.Series([1, 2, 7], dtype="Int64"),
            "stage": ["qualify", "discover", "closed"],
            "source_stage": pd.Series(["tab\there", None, "back\\slash"], dtype="str"),
            "exited_at": pd.to_datetime(["2026-03-09T10:00:00Z", None, None], utc=True),
            "duration_days": [1.0 / 3.0, None, 1e-300],
            "synced_at": pd.to_datetime(["2026-05-01T12:00:00Z"] * 3, utc=True),
        }
    )
    with engine.begin() as conn:
        assert insert_frame(conn, deal_stage_history, stays) == 3
    t = deal_stage_history
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.c.entered_at, t.c.source_stage, t.c.exited_at, t.c.duration_days).order_by(
                t.c.deal_key, t.c.entered_at
            )
        ).all()
    assert [tuple(row) for row in rows] == [
        (datetime(2026, 3, 8, 6, 59, 59, 999999, tzinfo=UTC), "tab\there",
         datetime(2026, 3, 9, 10, tzinfo=UTC), 1.0 / 3.0),
        (datetime(2026, 3, 9, 10, tzinfo=UTC), None, None, None),
        (datetime(1999, 12, 31, 23, tzinfo=UTC), "back\\slash", None, 1e-300),
    ]  # fmt: skip


def _typed_deals(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "deal_key": [f"h:{i}" for i in range(n)],
            "source": ["h"] * n,
            "source_type": ["hubspot"] * n,
            "source_id": [str(i) for i in range(n)],
            "status": ["open"] * n,
            "motion": ["new_business"] * n,
            "amount": pd.Series(
                [Decimal("-12.5"), None, Decimal("99999999999999999.999999")] * (n // 3),
                dtype=pd.ArrowDtype(pa.decimal128(24, 6)),
            ),
            "close_date": pd.Series(
                [date(2026, 12, 29), None, date(1, 1, 1)] * (n // 3),
                dtype=pd.ArrowDtype(pa.date32()),
            ),
            "is_deleted": [False, True, False] * (n // 3),
            "flag_stale": pd.Series([True, None, False] * (n // 3), dtype="boolean"),
            "created_at": pd.to_datetime(["2026-05-01T08:00:00.5-04:00"] * n, utc=True),
            "synced_at": pd.to_datetime(["2026-05-02T00:00:00Z"] * n, utc=True),
        }
    )


@pytest.mark.parametrize("n", [3, 2_400])
def test_upsert_frame_round_trips_dates_booleans_decimals(engine: Engine, n: int) -> None:
    frame = _typed_deals(n)
    with engine.begin() as conn:
        assert upsert_frame(conn, deals, frame, key_columns=["deal_key"]) == UpsertCounts(n, 0, 0)
        assert upsert_frame(conn, deals, frame, key_columns=["deal_key"]) == UpsertCounts(0, 0, n)
    names = ["amount", "close_date", "is_deleted", "flag_stale", "created_at"]
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(*(deals.c[name] for name in names))
            .where(deals.c.deal_key.in_(["h:0", "h:1", "h:2"]))
            .order_by(deals.c.deal_key)
        ).all()
    created = datetime(2026, 5, 1, 12, 0, 0, 500000, tzinfo=UTC)
    assert [tuple(row) for row in rows] == [
        (Decimal("-12.5"), date(2026, 12, 29), False, True, created),
        (None, None, True, None, created),
        (Decimal("99999999999999999.999999"), date(1, 1, 1), False, False, created),
    ]


@pytest.mark.parametrize(
    "dialect", [sqlite.dialect(), postgresql.psycopg.dialect()], ids=lambda d: d.name
)
def test_dates_and_booleans_bind_as_per_row(dialect: sa.Dialect) -> None:
    frame = _typed_deals(3)[["close_date", "is_deleted", "flag_stale"]]
    plain = frame_columns(frame)
    fast = frame_driver_columns(frame, deals, dialect)
    for name, values in plain.items():
        process = deals.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        assert fast[name] == [v if process is None or v is None else process(v) for v in values]


def test_copy_columns_text_for_postgresql() -> None:
    dialect = postgresql.psycopg.dialect()
    minus_4 = timezone(timedelta(hours=-4))
    frame = pd.DataFrame(
        {
            "created_at": pd.Series(
                [datetime(2026, 5, 1, 8, 0, 0, 123456, tzinfo=minus_4), None], dtype=object
            ).astype("datetime64[us, UTC]"),
            "amount": pd.Series([Decimal("1.5"), None], dtype=pd.ArrowDtype(pa.decimal128(20, 2))),
            "close_date": pd.Series([date(2026, 1, 31), None], dtype=pd.ArrowDtype(pa.date32())),
        }
    )
    assert frame_copy_columns(frame, deals, dialect) == {
        "created_at": ["2026-05-01 12:00:00.123456+00", None],
        "amount": ["1.500000", None],
        "close_date": ["2026-01-31", None],
    }


def test_postgresql_refuses_nul_and_checks_keys(
    warehouse_url_factory: Callable[[str], str],
) -> None:
    engine = create_warehouse_engine(warehouse_url_factory("postgresql"))
    upgrade(engine)
    try:
        with engine.begin() as conn:
            columns = _raw_columns(3)
            with pytest.raises(ValueError, match="NUL"):
                copy_columns(conn, raw_deals, {**columns, "payload": ["a", "b\x00", "c"]})
        with engine.begin() as conn:
            keys = {"source": ["h", "h"], "source_id": ["00001", "x"]}
            assert not has_any_key(conn, raw_deals, keys)
            upsert_columns(conn, raw_deals, _raw_columns(3), key_columns=["source", "source_id"])
            assert has_any_key(conn, raw_deals, keys)
            assert not has_any_key(conn, raw_deals, {"source": ["h"], "source_id": ["x"]})
    finally:
        engine.dispose()


def test_bulk_writes_leave_the_garbage_collector_as_it_was(engine: Engine) -> None:
    assert gc.isenabled()
    with engine.begin() as conn:
        upsert_columns(conn, raw_deals, _raw_columns(5), key_columns=["source", "source_id"])
        with pytest.raises(ValueError, match="duplicate key"):
            upsert_columns(
                conn,
                raw_deals,
                {**_raw_columns(2), "source_id": ["1", "1"]},
                key_columns=["source", "source_id"],
            )
    assert gc.isenabled()
    gc.disable()
    try:
        with engine.begin() as conn:
            upsert_columns(conn, raw_deals, _raw_columns(5), key_columns=["source", "source_id"])
        assert not gc.isenabled()
    finally:
        gc.enable()
