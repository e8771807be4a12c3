"""Fixtures for the health tests: migrated warehouses (SQLite file, PostgreSQL schema) and a
hand-built warehouse holding metrics.md's worked example, inserted as plain rows.

PostgreSQL tests use a fresh schema each, dropped afterwards; when the server is unreachable
they skip with a message, except under CI=true, where they fail.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from warehouse.engine import create_warehouse_engine
from warehouse.migrate import upgrade
from warehouse.schema import deal_snapshots, deal_stage_history, deals, stale_deal_flags

WORKED_T = dt.datetime(2026, 7, 1, tzinfo=dt.UTC)
SYNCED = dt.datetime(2026, 7, 1, 1, tzinfo=dt.UTC)


def at(text: str) -> dt.datetime:
    """'2026-05-01' as midnight UTC."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


@pytest.fixture
def engine(backend: str, warehouse_url_factory: Callable[[str], str]) -> Iterator[Engine]:
    """A migrated, empty warehouse on the parametrized backend."""
    engine = create_warehouse_engine(warehouse_url_factory(backend))
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(warehouse_url_factory: Callable[[str], str]) -> Iterator[Engine]:
    """A migrated, empty SQLite warehouse."""
    engine = create_warehouse_engine(warehouse_url_factory("sqlite"))
    upgrade(engine)
    yield engine
    engine.dispose()


def deal_row(key: str, **values: Any) -> dict[str, Any]:
    """A `deals` row with defaults for everything the example does not say."""
    source, source_id = key.split(":", 1)
    row: dict[str, Any] = {
        "deal_key": key,
        "source": source,
        "source_type": "salesforce",
        "source_id": source_id,
        "name": f"deal {source_id}",
        "pipeline": "default",
        "stage_number": 1,
        "stage": None,
        "status": "open",
        "motion": "new_business",
        "amount": None,
        "currency": "USD",
        "amount_reporting": None,
        "probability": Decimal("0.1"),
        "forecast_category": "pipeline",
        "owner_email": "ann@example.com",
        "owner_name": "Ann",
        "lead_channel": "inbound",
        "created_at": at("2026-05-01"),
        "close_date": dt.date(2026, 7, 31),
        "closed_at": None,
        "stage_entered_at": None,
        "last_activity_at": None,
        "last_modified_at": at("2026-06-30"),
        "is_deleted": False,
        "synced_at": SYNCED,
    }
    row.update(values)
    if row["amount"] is None:
        row["amount"] = row["amount_reporting"]
    return row


def stay_row(
    key: str, stage: int, entered: str, exited: str | None, reason: str | None
) -> dict[str, Any]:
    """A `deal_stage_history` row; duration in fractional days when the stay ended."""
    start = at(entered)
    end = None if exited is None else at(exited)
    return {
        "deal_key": key,
        "entered_at": start,
        "source": key.split(":", 1)[0],
        "stage_number": stage,
        "stage": f"stage{stage}",
        "exited_at": end,
        "exit_reason": reason,
        "duration_days": None if end is None else (end - start).total_seconds() / 86_400,
        "synced_at": SYNCED,
    }


WORKED_DEALS: list[dict[str, Any]] = [
    deal_row(
        "salesforce:A",
        stage_number=6,
        status="won",
        closed_at=at("2026-06-10"),
        stage_entered_at=at("2026-06-10"),
        amount_reporting=Decimal("100"),
        probability=Decimal("1"),
        close_date=dt.date(2026, 6, 10),
        forecast_category="closed",
    ),
    deal_row(
        "salesforce:B",
        created_at=at("2026-05-21"),
        stage_number=2,
        status="lost",
        closed_at=at("2026-06-20"),
        stage_entered_at=at("2026-06-20"),
        amount_reporting=Decimal("50"),
        probability=Decimal("0"),
        close_date=dt.date(2026, 6, 20),
        forecast_category="omitted",
    ),
    deal_row(
        "salesforce:C",
        stage_number=3,
        stage_entered_at=at("2026-05-16"),
        amount_reporting=Decimal("80"),
        probability=Decimal("0.5"),
        close_date=dt.date(2026, 7, 15),
        forecast_category="commit",
    ),
    deal_row(
        "salesforce:D",
        created_at=at("2026-06-01"),
        stage_number=3,
        stage_entered_at=at("2026-06-11"),
        amount_reporting=Decimal("60"),
        probability=Decimal("0.4"),
        close_date=dt.date(2026, 8, 20),
    ),
]
WORKED_STAYS: list[dict[str, Any]] = [
    stay_row("salesforce:A", 1, "2026-05-01", "2026-05-11", "advanced"),
    stay_row("salesforce:A", 2, "2026-05-11", "2026-05-21", "advanced"),
    stay_row("salesforce:A", 4, "2026-05-21", "2026-06-10", "won"),
    stay_row("salesforce:B", 1, "2026-05-21", "2026-05-31", "advanced"),
    stay_row("salesforce:B", 2, "2026-05-31", "2026-06-20", "lost"),
    stay_row("salesforce:C", 1, "2026-05-01", "2026-05-16", "advanced"),
    stay_row("salesforce:C", 3, "2026-05-16", None, None),
    stay_row("salesforce:D", 2, "2026-06-01", "2026-06-11", "advanced"),
    stay_row("salesforce:D", 3, "2026-06-11", None, None),
]


def insert_rows(engine: Engine, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Plain inserts through the schema's types."""
    if rows:
        with engine.begin() as conn:
            conn.execute(sa.insert(table), list(rows))


@pytest.fixture
def worked_engine(engine: Engine) -> Engine:
    """The parametrized warehouse holding metrics.md's worked example (deals A-D, stays)."""
    insert_rows(engine, deals, WORKED_DEALS)
    insert_rows(engine, deal_stage_history, WORKED_STAYS)
    return engine


@pytest.fixture
def worked_sqlite(sqlite_engine: Engine) -> Engine:
    """An SQLite warehouse holding the worked example."""
    insert_rows(sqlite_engine, deals, WORKED_DEALS)
    insert_rows(sqlite_engine, deal_stage_history, WORKED_STAYS)
    return sqlite_engine


@pytest.fixture
def rows() -> SimpleNamespace:
    """Row builders and inserter: rows.deal(key, **values), rows.stay(...), rows.insert(...)."""
    return SimpleNamespace(
        deal=deal_row,
        stay=stay_row,
        at=at,
        insert=insert_rows,
        deals=deals,
        stays=deal_stage_history,
        snapshots=deal_snapshots,
        flags=stale_deal_flags,
        worked_t=WORKED_T,
    )
