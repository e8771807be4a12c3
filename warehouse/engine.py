"""Create the warehouse engine: an SQLite file by default, PostgreSQL through psycopg 3."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

DEFAULT_URL = "sqlite:///./data/warehouse.db"
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Page cache per connection, in KiB (SQLite's default is 2 MiB): bulk loads touch many
# index pages; a larger cache spills and re-reads fewer of them.
SQLITE_CACHE_KIB = 65_536
# Page size of a new warehouse file (an existing file keeps its own): fewer, fuller pages
# for JSON payload rows, and less page bookkeeping on writes and WAL checkpoints.
SQLITE_PAGE_SIZE = 16_384

log = logging.getLogger(__name__)


def safe_url(url: str | URL) -> str:
    """The URL as text with its password masked, for logs and messages."""
    return make_url(url).render_as_string(hide_password=True)


def is_memory_sqlite(url: URL) -> bool:
    """True for an in-memory SQLite database (no file to share or lock)."""
    database = url.database or ""
    in_memory = database in ("", ":memory:") or "mode=memory" in database
    return url.get_backend_name() == "sqlite" and (in_memory or url.query.get("mode") == "memory")


def _normalize_url(url: URL) -> URL:
    """Pin PostgreSQL to psycopg 3 (plain `postgresql://` and `postgres://` included)."""
    if url.drivername in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+psycopg")
    return url


def _prepare_sqlite_file(url: URL) -> None:
    """Create the folder of an SQLite file so the first run needs no set-up."""
    if is_memory_sqlite(url) or not url.database or url.database.startswith("file:"):
        return
    Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _install_sqlite_hooks(engine: Engine, *, memory: bool) -> None:
    """WAL, foreign keys, a busy timeout and a larger page cache per connection (and a larger
    page size for a new file); real BEGINs for transactions."""

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN (below) so reads, DDL and savepoints are transactional.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if not memory:
                # Only takes on a new, empty file, so before WAL mode writes its header.
                cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE:d}")
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB:d}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS:d}")
        finally:
            cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN")


def create_warehouse_engine(url: str | URL | None = None) -> Engine:
    """An engine for the warehouse at `url` (default an SQLite file under ./data/), ready to use."""
    parsed = _normalize_url(make_url(url if url is not None else DEFAULT_URL))
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        memory = is_memory_sqlite(parsed)
        _prepare_sqlite_file(parsed)
        engine = sa.create_engine(parsed)
        _install_sqlite_hooks(engine, memory=memory)
    elif backend == "postgresql":
        engine = sa.create_engine(parsed, pool_pre_ping=True)
    else:
        raise ValueError(
            f"unsupported warehouse URL {safe_url(parsed)}: use sqlite:///path or "
            "postgresql+psycopg://user@host/db"
        )
    log.info("warehouse: %s", safe_url(parsed))
    return engine
