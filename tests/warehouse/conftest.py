"""Fixtures for the warehouse tests: a fresh warehouse on SQLite (a temp file) and PostgreSQL.

PostgreSQL tests use a schema of their own, dropped afterwards, so they can run next to
other test sessions on the same database. When the server is unreachable they skip with a
message, except under CI=true, where they fail.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.engine import Engine

from warehouse.engine import create_warehouse_engine
from warehouse.migrate import upgrade


@pytest.fixture
def warehouse_url(backend: str, warehouse_url_factory: Callable[[str], str]) -> str:
    """URL of an empty warehouse on the parametrized backend."""
    return warehouse_url_factory(backend)


@pytest.fixture
def engine(warehouse_url: str) -> Iterator[Engine]:
    """A migrated, empty warehouse on the parametrized backend."""
    engine = create_warehouse_engine(warehouse_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(warehouse_url_factory: Callable[[str], str]) -> Iterator[Engine]:
    """A migrated, empty SQLite warehouse, for tests of SQLite's storage formats."""
    engine = create_warehouse_engine(warehouse_url_factory("sqlite"))
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def new_york_tz(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run the test with the process's local time zone set to America/New_York."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield "America/New_York"
    monkeypatch.undo()
    time.tzset()
