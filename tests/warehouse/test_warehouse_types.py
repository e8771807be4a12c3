"""Money, probabilities and timestamps round-trip exactly on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from warehouse.schema import currency_rates, deals, pipeline_metrics, quotas

NOW = datetime(2026, 3, 8, 6, 59, 59, 123456, tzinfo=UTC)  # hours before the US DST switch


def _deal(key: str, **values: object) -> dict[str, object]:
    row: dict[str, object] = {
        "deal_key": f"salesforce:{key}",
        "source": "salesforce",
        "source_type": "salesforce",
        "source_id": key,
        "status": "open",
        "motion": "new_business",
        "synced_at": NOW,
    }
    row.update(values)
    return row


def _read(engine: Engine, column: sa.Column, key: str) -> object:
    with engine.connect() as conn:
        return conn.execute(
            sa.select(column).where(deals.c.deal_key == f"salesforce:{key}")
        ).scalar_one()


@pytest.mark.parametrize(
    "amount",
    [
        Decimal("12345678901234.123456"),
        Decimal("0.1") + Decimal("0.2"),
        Decimal("-0.000001"),
        Decimal("999999999999999999.999999"),
        Decimal("0"),
        Decimal(10) ** 17,
    ],
)
def test_money_round_trips_exactly(engine: Engine, new_york_tz: str, amount: Decimal) -> None:
    with engine.begin() as conn:
        conn.execute(sa.insert(deals).values(_deal("a", amount=amount)))
    back = _read(engine, deals.c.amount, "a")
    assert isinstance(back, Decimal)
    assert back == amount
    assert str(back) == format(amount.quantize(Decimal("0.000001")), "f")


def test_money_sums_exactly_where_floats_would_not(engine: Engine) -> None:
    # 0.1 + 0.2 as floats is 0.30000000000000004; the stored values stay exact.
    with engine.begin() as conn:
        conn.execute(
            sa.insert(deals),
            [_deal("a", amount=Decimal("0.1")), _deal("b", amount=Decimal("0.2"))],
        )
    with engine.connect() as conn:
        amounts = conn.execute(sa.select(deals.c.amount)).scalars().all()
    assert sum(amounts, Decimal(0)) == Decimal("0.3")


def test_sqlite_stores_money_as_decimal_text(sqlite_engine: Engine) -> None:
    engine = sqlite_engine
    with engine.begin() as conn:
        conn.execute(sa.insert(deals).values(_deal("a", amount=Decimal("12345678901234.123456"))))
        stored = conn.exec_driver_sql("SELECT amount, typeof(amount) FROM deals").one()
    assert tuple(stored) == ("12345678901234.123456", "text")


def test_probability_and_rate_round_trip(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.insert(deals).values(_deal("a", probability=Decimal("0.3333"))))
        conn.execute(
            sa.insert(currency_rates).values(
                source="salesforce",
                currency="EUR",
                rate=Decimal("0.925925925926"),
                is_corporate=False,
                origin="crm",
            )
        )
        rate = conn.execute(sa.select(currency_rates.c.rate)).scalar_one()
    assert _read(engine, deals.c.probability, "a") == Decimal("0.3333")
    assert rate == Decimal("0.925925925926")


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (0.1, TypeError),  # float: already inexact
        ("12.50", TypeError),  # text: convert at the edge
        (True, TypeError),
        (Decimal("1.0000001"), ValueError),  # 7 decimals: would round
        (Decimal("1000000000000000000"), ValueError),  # 19 integer digits: does not fit
        (Decimal("NaN"), ValueError),
        (Decimal("Infinity"), ValueError),
    ],
)
def test_money_refuses_what_it_cannot_keep_exactly(
    engine: Engine, value: object, error: type[Exception]
) -> None:
    with pytest.raises(sa.exc.StatementError) as caught, engine.begin() as conn:
        conn.execute(sa.insert(deals).values(_deal("a", amount=value)))
    assert isinstance(caught.value.orig, error)


def test_probability_refuses_a_fifth_decimal(engine: Engine) -> None:
    with (
        pytest.raises(sa.exc.StatementError, match="more than 4 decimal places"),
        engine.begin() as conn,
    ):
        conn.execute(sa.insert(deals).values(_deal("a", probability=Decimal("0.12345"))))


def test_metric_value_accepts_floats_at_their_shortest_repr(engine: Engine) -> None:
    row = {
        "run_id": "r1",
        "scope": "all",
        "metric": "win_rate",
        "computed_at": NOW,
        "as_of": NOW,
    }
    with engine.begin() as conn:
        conn.execute(sa.insert(pipeline_metrics).values({**row, "value": 0.1 + 0.2}))
        conn.execute(
            sa.insert(pipeline_metrics).values(
                {**row, "metric": "open_amount", "value": Decimal("1e-6")}
            )
        )
        conn.execute(sa.insert(pipeline_metrics).values({**row, "metric": "median", "value": None}))
        values = dict(
            conn.execute(sa.select(pipeline_metrics.c.metric, pipeline_metrics.c.value)).all()
        )
    assert values == {
        "win_rate": Decimal("0.30000000000000004"),
        "open_amount": Decimal("0.000001"),
        "median": None,
    }


@pytest.mark.parametrize(
    "moment",
    [
        NOW,
        datetime(2026, 11, 1, 5, 30, 0, 1, tzinfo=UTC),  # inside New York's repeated hour
        datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        # An aware non-UTC value is the same instant, returned in UTC.
        datetime(2026, 7, 1, 9, 15, 0, 654321, tzinfo=timezone(timedelta(hours=-4))),
    ],
)
def test_timestamps_round_trip_as_utc(engine: Engine, new_york_tz: str, moment: datetime) -> None:
    assert time.localtime(0).tm_hour == 19  # the process really is in New York
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # The session zone decides what psycopg hands back: make it non-UTC too.
            conn.exec_driver_sql("SET TIME ZONE 'America/New_York'")
        conn.execute(sa.insert(deals).values(_deal("a", created_at=moment)))
        back = conn.execute(sa.select(deals.c.created_at)).scalar_one()
        matched = conn.execute(
            sa.select(sa.func.count()).select_from(deals).where(deals.c.created_at == moment)
        ).scalar_one()
    assert back == moment
    assert back.tzinfo is UTC
    assert back.utcoffset() == timedelta(0)
    assert (back.hour, back.microsecond) == (
        moment.astimezone(UTC).hour,
        moment.microsecond,
    )
    assert matched == 1  # a bound comparison value is converted the same way


def test_naive_datetime_is_refused(engine: Engine) -> None:
    with (
        pytest.raises(sa.exc.StatementError, match="naive datetime 2026-01-01T00:00:00 refused"),
        engine.begin() as conn,
    ):
        conn.execute(sa.insert(deals).values(_deal("a", created_at=datetime(2026, 1, 1))))
    with (
        pytest.raises(sa.exc.StatementError, match="takes a datetime, not date"),
        engine.begin() as conn,
    ):
        conn.execute(sa.insert(deals).values(_deal("a", created_at=date(2026, 1, 1))))


def test_sqlite_stores_utc_wall_time(sqlite_engine: Engine) -> None:
    engine = sqlite_engine
    new_york_noon = datetime(2026, 1, 15, 12, 0, tzinfo=timezone(timedelta(hours=-5)))
    with engine.begin() as conn:
        conn.execute(sa.insert(deals).values(_deal("a", created_at=new_york_noon)))
        stored = conn.exec_driver_sql("SELECT created_at FROM deals").scalar_one()
    assert stored == "2026-01-15 17:00:00.000000"


def test_dates_and_quota_amounts_round_trip(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.insert(quotas).values(
                owner_email="rep@example.com",
                period_start=date(2026, 1, 1),
                period_end=date(2026, 3, 31),
                amount=Decimal("250000.50"),
            )
        )
        row = conn.execute(sa.select(quotas)).one()
    assert (row.period_start, row.period_end, row.amount) == (
        date(2026, 1, 1),
        date(2026, 3, 31),
        Decimal("250000.50"),
    )
