"""Bulk (column-at-a-time) binding and reading: the same values and checks as the column
types' per-row processing, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from warehouse.frames import frame_columns, frame_driver_columns, read_frame
from warehouse.schema import deal_stage_history, deals
from warehouse.types import Money, Probability, UtcDateTime, bind_values
from warehouse.upsert import UpsertCounts, insert_frame, upsert_columns, upsert_frame, upsert_rows

DIALECTS = [sqlite.dialect(), postgresql.psycopg.dialect()]
MINUS_4 = timezone(timedelta(hours=-4))
STAMPS = [
    datetime(2026, 5, 1, 8, 0, 0, 123456, tzinfo=MINUS_4),
    None,
    datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
]
AMOUNTS = [Decimal("12345678901234.5"), None, Decimal("-0.000001"), 7]


def _per_row(column_type: Any, values: list[Any], dialect: Any) -> list[Any]:
    process = column_type.dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return list(values)
    return [None if v is None else process(v) for v in values]


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
@pytest.mark.parametrize(
    ("column_type", "values"),
    [
        (UtcDateTime(), STAMPS),
        (Money(), AMOUNTS),
        (Probability(), [Decimal("0.75"), Decimal("1"), None]),
        (sa.Date(), [date(2026, 1, 31), None]),
        (sa.Boolean(), [True, False, None]),
        (sa.Text(), ["a", None]),
    ],
    ids=["utc", "money", "probability", "date", "boolean", "text"],
)
def test_bind_values_match_per_row_processing(column_type: Any, values: list, dialect: Any) -> None:
    assert bind_values(column_type, values, dialect) == _per_row(column_type, values, dialect)


def test_bind_values_sqlite_text_by_hand() -> None:
    dialect = sqlite.dialect()
    assert bind_values(UtcDateTime(), STAMPS, dialect) == [
        "2026-05-01 12:00:00.123456",
        None,
        "1999-12-31 23:59:59.999999",
    ]
    assert bind_values(Money(), AMOUNTS, dialect) == [
        "12345678901234.500000",
        None,
        "-0.000001",
        "7.000000",
    ]


@pytest.mark.parametrize(
    ("column_type", "value", "error", "match"),
    [
        (UtcDateTime(), datetime(2026, 1, 1), ValueError, "naive datetime"),
        (UtcDateTime(), date(2026, 1, 1), TypeError, "not date"),
        (Money(), 1.5, TypeError, "not float"),
        (Money(), Decimal("0.0000001"), ValueError, "more than 6 decimal places"),
        (Probability(), Decimal("123.5"), ValueError, "does not fit"),
    ],
)
def test_bind_values_refuses_what_the_types_refuse(
    column_type: Any, value: object, error: type[Exception], match: str
) -> None:
    for dialect in DIALECTS:
        with pytest.raises(error, match=match):
            bind_values(column_type, [None, value], dialect)


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "created_at": pd.to_datetime(
                ["2026-05-01T08:00:00.123456-04:00", None, "2026-01-01T00:00:00Z"],
                format="ISO8601",
                utc=True,
            ).tz_convert("America/New_York"),
            "amount": pd.Series(
                [Decimal("1.5"), None, Decimal("-2.25")], dtype=pd.ArrowDtype(pa.decimal128(20, 2))
            ),
            "probability": pd.Series(
                [Decimal("0.1234"), Decimal("1"), None], dtype=pd.ArrowDtype(pa.decimal128(6, 4))
            ),
            "stage_number": pd.Series([3, None, 6], dtype="Int64"),
            "name": pd.Series(["x", None, "z"], dtype="str"),
        }
    )


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_frame_driver_columns_match_binding_plain_values(dialect: Any) -> None:
    frame = _frame()
    fast = frame_driver_columns(frame, deals, dialect)
    plain = frame_columns(frame)
    slow = {name: _per_row(deals.c[name].type, plain[name], dialect) for name in plain}
    assert fast == slow
    if dialect.name == "sqlite":
        assert fast["created_at"] == [
            "2026-05-01 12:00:00.123456",
            None,
            "2026-01-01 00:00:00.000000",
        ]
        assert fast["amount"] == ["1.500000", None, "-2.250000"]


def test_frame_driver_columns_refuse_naive_nanoseconds_and_unknown_columns() -> None:
    dialect = sqlite.dialect()
    naive = pd.DataFrame({"created_at": pd.to_datetime(["2026-01-01T00:00:00"])})
    with pytest.raises(ValueError, match="naive"):
        frame_driver_columns(naive, deals, dialect)
    nanos = pd.DataFrame(
        {"created_at": pd.to_datetime(["2026-01-01T00:00:00.000000001Z"], utc=True)}
    )
    with pytest.raises(ValueError, match="nanoseconds"):
        frame_driver_columns(nanos, deals, dialect)
    with pytest.raises(ValueError, match="no column"):
        frame_driver_columns(pd.DataFrame({"amont": [1]}), deals, dialect)


def _deal_frame(keys: list[str], amounts: list[str | None]) -> pd.DataFrame:
    n = len(keys)
    return pd.DataFrame(
        {
            "deal_key": keys,
            "source": ["h"] * n,
            "source_type": ["hubspot"] * n,
            "source_id": [k.split(":")[1] for k in keys],
            "status": ["open"] * n,
            "motion": ["new_business"] * n,
            "amount": pd.Series(
                [None if a is None else Decimal(a) for a in amounts],
                dtype=pd.ArrowDtype(pa.decimal128(24, 6)),
            ),
            "created_at": pd.to_datetime(["2026-05-01T12:00:00Z"] * n, utc=True),
            "synced_at": pd.to_datetime(["2026-05-02T00:00:00Z"] * n, utc=True),
        }
    )


@pytest.mark.parametrize("n", [3, 2_500])  # 2,500 rows: PostgreSQL's COPY-staged path
def test_upsert_frame_counts_and_round_trips(engine: Engine, new_york_tz: str, n: int) -> None:
    keys = [f"h:{i}" for i in range(n)]
    with engine.begin() as conn:
        first = upsert_frame(conn, deals, _deal_frame(keys, ["1.5"] * n), key_columns=["deal_key"])
    assert first == UpsertCounts(n, 0, 0)
    # One changed, one new, the rest the same.
    again = _deal_frame([*keys, "h:new"], ["2", *["1.5"] * (n - 1), None])
    with engine.begin() as conn:
        second = upsert_frame(conn, deals, again, key_columns=["deal_key"])
    assert second == UpsertCounts(1, 1, n - 1)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(deals.c.deal_key, deals.c.amount, deals.c.created_at).where(
                deals.c.deal_key.in_(["h:0", "h:1", "h:new"])
            )
        ).all()
    assert sorted(rows) == [
        ("h:0", Decimal("2"), datetime(2026, 5, 1, 12, tzinfo=UTC)),
        ("h:1", Decimal("1.5"), datetime(2026, 5, 1, 12, tzinfo=UTC)),
        ("h:new", None, datetime(2026, 5, 1, 12, tzinfo=UTC)),
    ]


def test_upsert_frame_refuses_duplicate_and_null_keys(engine: Engine) -> None:
    with engine.begin() as conn, pytest.raises(ValueError, match="duplicate key"):
        upsert_frame(conn, deals, _deal_frame(["h:1", "h:1"], ["1", "2"]), key_columns=["deal_key"])
    frame = _deal_frame(["h:1", "h:2"], ["1", "2"])
    frame.loc[1, "deal_key"] = None
    with engine.begin() as conn, pytest.raises(ValueError, match="NULL key"):
        upsert_frame(conn, deals, frame, key_columns=["deal_key"])


def test_sqlite_counts_on_a_table_whose_rowid_is_its_key(sqlite_engine: Engine) -> None:
    # An INTEGER PRIMARY KEY is the rowid: counting falls back to a keyed pre-select.
    table = sa.Table(
        "bulk_counted", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("label", sa.Text),
    )  # fmt: skip
    table.create(sqlite_engine)
    with sqlite_engine.begin() as conn:
        assert upsert_rows(conn, table, [{"id": 10, "label": "a"}], key_columns=["id"]) == (
            UpsertCounts(1, 0, 0)
        )
        rows = [{"id": 1, "label": "b"}, {"id": 10, "label": "c"}, {"id": 11, "label": None}]
        assert upsert_rows(conn, table, rows, key_columns=["id"]) == UpsertCounts(2, 1, 0)


def test_insert_frame_and_read_frame_round_trip(engine: Engine, new_york_tz: str) -> None:
    stays = pd.DataFrame(
        {
            "deal_key": ["h:1", "h:1"],
            "entered_at": pd.to_datetime(
                ["2026-03-08T06:59:59.123456Z", "2026-03-09T10:00:00Z"], utc=True, format="ISO8601"
            ),
            "source": ["h", "h"],
            "stage_number": pd.Series([1, 2], dtype="Int64"),
            "stage": ["qualify", "discover"],
            "exited_at": pd.to_datetime(["2026-03-09T10:00:00Z", None], utc=True),
            "duration_days": [1.5, None],
        }
    )
    with engine.begin() as conn:
        assert insert_frame(conn, deal_stage_history, stays) == 2
        upsert_frame(conn, deals, _deal_frame(["h:1"], ["0.3"]), key_columns=["deal_key"])
    names = ["deal_key", "entered_at", "stage_number", "exited_at", "duration_days"]
    with engine.connect() as conn:
        typed = read_frame(conn, deal_stage_history, names, order_by=["entered_at"])
        objects = read_frame(conn, deal_stage_history, names, order_by=["entered_at"], typed=False)
        per_row = conn.execute(
            sa.select(*(deal_stage_history.c[n] for n in names)).order_by(
                deal_stage_history.c.entered_at
            )
        ).all()
        deal = read_frame(conn, deals, ["amount", "created_at", "is_deleted"], typed=False)
    assert str(typed["entered_at"].dtype) == "datetime64[us, UTC]"
    assert typed["exited_at"].isna().tolist() == [False, True]
    assert typed["stage_number"].tolist() == [1, 2]
    assert [tuple(r) for r in objects.itertuples(index=False)] == [tuple(r) for r in per_row]
    assert objects["entered_at"][0] == datetime(2026, 3, 8, 6, 59, 59, 123456, tzinfo=UTC)
    assert objects["entered_at"][0].tzinfo is UTC and objects["exited_at"][1] is None
    assert deal.iloc[0].tolist() == [Decimal("0.3"), datetime(2026, 5, 1, 12, tzinfo=UTC), False]
    assert deal["is_deleted"][0] is False


def test_upsert_columns_counts_like_upsert_rows(engine: Engine) -> None:
    stamp = datetime(2026, 5, 1, 12, tzinfo=UTC)
    columns = {
        "deal_key": ["h:1", "h:2"],
        "source": ["h", "h"],
        "source_type": ["hubspot", "hubspot"],
        "source_id": ["1", "2"],
        "status": ["open", "won"],
        "motion": ["new_business", "new_business"],
        "amount": [Decimal("1.5"), None],
        "synced_at": [stamp, stamp],
    }
    with engine.begin() as conn:
        assert upsert_columns(conn, deals, columns, key_columns=["deal_key"]) == UpsertCounts(
            2, 0, 0
        )
        changed = {**columns, "amount": [Decimal("1.50"), Decimal("3")]}
        assert upsert_columns(conn, deals, changed, key_columns=["deal_key"]) == UpsertCounts(
            0, 1, 1
        )
        with pytest.raises(ValueError, match="differ in length"):
            upsert_columns(conn, deals, {**columns, "source": ["h"]}, key_columns=["deal_key"])
        with pytest.raises(ValueError, match="duplicate key"):
            upsert_columns(
                conn, deals, {**columns, "deal_key": ["h:1", "h:1"]}, key_columns=["deal_key"]
            )
