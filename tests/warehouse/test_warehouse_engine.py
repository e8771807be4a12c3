"""Engine creation: default file, SQLite pragmas, transactions, no password in logs; run rows."""

from __future__ import annotations

import logging
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from warehouse.engine import create_warehouse_engine, safe_url
from warehouse.runs import RunCounts, fail_abandoned_runs, finish_run, start_run
from warehouse.schema import sync_runs


def test_default_url_is_a_file_under_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    engine = create_warehouse_engine(None)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            conn.commit()
        assert engine.url.render_as_string() == "sqlite:///./data/warehouse.db"
        assert (tmp_path / "data" / "warehouse.db").is_file()
    finally:
        engine.dispose()


def test_sqlite_pragmas(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as conn:
        pragmas = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in (
                "journal_mode",
                "synchronous",
                "foreign_keys",
                "busy_timeout",
                "cache_size",
                "page_size",
            )
        }
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 1,  # NORMAL: durable in WAL mode
        "foreign_keys": 1,
        "busy_timeout": 30_000,
        "cache_size": -65_536,
        "page_size": 16_384,  # a new file
    }


def test_sqlite_existing_file_keeps_its_page_size(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with closing(sqlite3.connect(path)) as raw:
        raw.execute("CREATE TABLE t (x INTEGER)")
        raw.commit()
    engine = create_warehouse_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA page_size").scalar() == 4096
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()


def test_sqlite_ddl_and_reads_are_transactional(sqlite_engine: Engine) -> None:
    # pysqlite's legacy mode would autocommit the CREATE TABLE; ours rolls it back.
    with pytest.raises(RuntimeError), sqlite_engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE scratch (x INTEGER)")
        raise RuntimeError
    assert "scratch" not in sa.inspect(sqlite_engine).get_table_names()


def test_password_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    url = "postgresql://etl:s3cr3t-pw@db.invalid:5432/warehouse"
    with caplog.at_level(logging.INFO, logger="warehouse.engine"):
        engine = create_warehouse_engine(url)
    try:
        assert engine.dialect.driver == "psycopg"  # pinned to psycopg 3
        assert "s3cr3t-pw" not in caplog.text
        assert "etl:***@db.invalid" in caplog.text
        assert "s3cr3t-pw" not in safe_url(engine.url)
    finally:
        engine.dispose()


def test_unsupported_url_is_refused_without_its_password() -> None:
    with pytest.raises(ValueError, match="unsupported warehouse URL") as caught:
        create_warehouse_engine("mysql://root:hunter2@localhost/db")
    assert "hunter2" not in str(caught.value)


def test_run_lifecycle(engine: Engine) -> None:
    with engine.begin() as conn:
        run_id = start_run(conn, source="salesforce", mode="incremental", cursor_before="c0")
        other = start_run(conn, source="hubspot", mode="full", run_id=run_id)
        finish_run(
            conn,
            run_id=run_id,
            source="salesforce",
            status="succeeded",
            counts=RunCounts(rows_read=10, inserted=7, updated=2, unchanged=1, api_calls=3),
            cursor_after="c1",
            message="ok",
        )
        rows = {row.source: row for row in conn.execute(sa.select(sync_runs))}
    assert other == run_id and len(run_id) == 32
    done = rows["salesforce"]
    assert (done.status, done.mode, done.cursor_before, done.cursor_after) == (
        "succeeded",
        "incremental",
        "c0",
        "c1",
    )
    assert (done.rows_read, done.inserted, done.updated, done.unchanged, done.deleted) == (
        10,
        7,
        2,
        1,
        0,
    )
    assert done.ended_at >= done.started_at and done.ended_at.tzinfo is not None
    assert (rows["hubspot"].status, rows["hubspot"].ended_at) == ("running", None)


def test_run_bad_input(engine: Engine) -> None:
    with engine.begin() as conn:
        with pytest.raises(ValueError, match="mode must be"):
            start_run(conn, source="s", mode="nightly")
        run_id = start_run(conn, source="s", mode="full")
        with pytest.raises(ValueError, match="status must be"):
            finish_run(conn, run_id=run_id, source="s", status="running")
        finish_run(conn, run_id=run_id, source="s", status="failed", message="boom")
        with pytest.raises(LookupError, match="no running sync run"):
            finish_run(conn, run_id=run_id, source="s", status="succeeded")


def test_abandoned_runs_are_failed(engine: Engine) -> None:
    with engine.begin() as conn:
        start_run(conn, source="a", mode="full")
        done = start_run(conn, source="b", mode="full")
        finish_run(conn, run_id=done, source="b", status="succeeded")
        assert fail_abandoned_runs(conn, message="process died") == 1
        statuses = dict(conn.execute(sa.select(sync_runs.c.source, sync_runs.c.status)).all())
    assert statuses == {"a": "failed", "b": "succeeded"}
