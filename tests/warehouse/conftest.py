"""Fixtures for the warehouse tests: a fresh warehouse on SQLite (a temp file) and PostgreSQL.

PostgreSQL tests use a schema of their own, dropped afterwards, so they can run next to
other test sessions on the same database. When the server is unreachable they skip with a
message, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from warehouse.engine import create_warehouse_engine
from warehouse.migrate import upgrade

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test server's URL, or a skip (a failure under CI=true) when it is unreachable."""
    url = os.environ.get("PIPELINES_ETL_TEST_POSTGRES_URL", POSTGRES_URL)
    try:
        psycopg.connect(_libpq_url(url), connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL at {make_url(url).render_as_string()} is unreachable: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture
def warehouse_url_factory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[str], str]]:
    """Makes URLs of empty warehouses: an SQLite file, or a fresh PostgreSQL schema."""
    schemas: list[str] = []
    admin: list[Engine] = []

    def make(backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / f'wh_{uuid.uuid4().hex[:8]}.db'}"
        base = request.getfixturevalue("postgres_url")
        if not admin:
            admin.append(sa.create_engine(base, poolclass=sa.NullPool))
        schema = f"wh_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        with admin[0].begin() as conn:
            conn.execute(sa.schema.CreateSchema(schema))
        schemas.append(schema)
        return (
            make_url(base)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )

    yield make
    for schema in schemas:
        with admin[0].begin() as conn:
            conn.execute(sa.schema.DropSchema(schema, cascade=True))
    for engine in admin:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """sqlite or postgresql."""
    return request.param


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
