"""Fixtures every test folder shares: warehouses on SQLite and on the real PostgreSQL.

PostgreSQL warehouses live in a schema of their own, dropped afterwards, so test sessions can
share the database. When the server is unreachable its tests skip with a message, except
under CI=true, where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test server's URL, or a skip (a failure under CI=true) when it is unreachable."""
    url = os.environ.get("PIPELINES_ETL_TEST_POSTGRES_URL", POSTGRES_URL)
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        psycopg.connect(libpq, connect_timeout=3).close()
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
    """Makes URLs of empty warehouses: "sqlite" a temp file, "postgresql" a fresh schema."""
    schemas: list[str] = []
    admin: list[Engine] = []

    def make(backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / f'wh_{uuid.uuid4().hex[:8]}.db'}"
        base = request.getfixturevalue("postgres_url")
        if not admin:
            admin.append(sa.create_engine(base, poolclass=sa.NullPool))
        schema = f"test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
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


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """sqlite or postgresql: tests using it run on both."""
    return str(request.param)
