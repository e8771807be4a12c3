"""Benchmark: the sync of N deals per CRM (default 100,000) from a sandbox in its own process.

1. download and parse only (`benchmarks.download`), the yardstick: a sync should take at
   most three times as long;
2. the first sync (`pipelines-etl sync`) into a fresh SQLite warehouse in a temp dir: wall
   time and the peak RSS of the sync and its worker process together (sampled from /proc);
3. an incremental sync with nothing changed, on that warehouse: wall time and API calls;
4. the first sync into a fresh PostgreSQL database (skipped when the server is unreachable).

The download runs first, so the sandbox's lazily built OpportunityHistory is warm for all.
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from benchmarks.measure import PYTHON, REPO, ChildRun, run_child
from benchmarks.sandbox_process import CLI, SandboxProcess

POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TARGET_SECONDS = 120.0
TARGET_RATIO = 3.0
TARGET_RSS_MB = 1024.0
Row = tuple[str, str, str]


def _base_env(sandbox: SandboxProcess, warehouse: str) -> dict[str, str]:
    """A clean environment: PATH, HOME, the sandbox's exports and the warehouse URL."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONPATH": str(REPO),
        **sandbox.env,
        "PIPELINES_ETL_WAREHOUSE_URL": warehouse,
    }


def _runs(warehouse: str) -> list[dict[str, Any]]:
    """The `sync_runs` rows of a warehouse, oldest first."""
    from warehouse.schema import sync_runs

    engine = sa.create_engine(warehouse)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(sync_runs).order_by(sync_runs.c.started_at)).mappings()
            return [dict(row) for row in rows]
    finally:
        engine.dispose()


def _sync(env: dict[str, str], log_dir: Path, name: str) -> ChildRun:
    """`pipelines-etl sync` as a measured child; raises when it fails."""
    child = run_child([str(CLI), "sync"], env=env, cwd=log_dir, log_dir=log_dir, name=name)
    if child.returncode != 0:
        raise RuntimeError(f"{name} failed ({child.returncode}):\n{child.stderr[-3000:]}")
    return child


def _verdicts(child: ChildRun, baseline: float) -> str:
    ratio = child.wall_seconds / baseline
    parts = [
        f"<120 s {'met' if child.wall_seconds < TARGET_SECONDS else 'NOT met'}",
        f"<=3x download {'met' if ratio <= TARGET_RATIO else 'NOT met'} ({ratio:.1f}x)",
        f"<1 GB {'met' if child.peak_rss_mb < TARGET_RSS_MB else 'NOT met'}",
    ]
    return "; ".join(parts)


def _calls(runs: list[dict[str, Any]], mode: str | None = None) -> str:
    """`source: N calls, R rows` for the latest run of each source."""
    latest: dict[str, dict[str, Any]] = {}
    for run in runs:
        latest[run["source"]] = run
    return ", ".join(
        f"{source} {run['api_calls']} calls/{run['rows_read']} read" for source, run in
        sorted(latest.items())
    )  # fmt: skip


def _postgres_database() -> tuple[str, str] | None:
    """A fresh database on the local server: (its URL, its name), or None when unreachable."""
    name = f"bench_sync_{uuid.uuid4().hex[:8]}"
    try:
        admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            # DDL takes no bound parameters; the name is ours (hex), not data.
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    except sa.exc.OperationalError:
        return None
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", name


def _drop_postgres(name: str) -> None:
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def run(*, deals: int) -> list[Row]:
    """Rows (measure, value, verdict) of the sync benchmark at `deals` per CRM."""
    rows: list[Row] = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp,
        SandboxProcess(deals=deals) as sandbox,
    ):
        log_dir = Path(tmp)
        rows.append((f"sandbox process with {deals:,} deals/CRM ready",
                     f"{sandbox.startup_seconds:.1f} s", ""))  # fmt: skip
        sqlite_url = f"sqlite:///{log_dir / 'warehouse.db'}"
        env = _base_env(sandbox, sqlite_url)
        download = run_child([PYTHON, "-m", "benchmarks.download"], env=env, cwd=REPO,
                             log_dir=log_dir, name="download")  # fmt: skip
        if download.returncode != 0:
            raise RuntimeError(f"download failed:\n{download.stderr[-3000:]}")
        per_source = json.loads(download.stdout.strip().splitlines()[-1])
        detail = ", ".join(
            f"{name} {info['seconds']:.1f} s/{info['deals']:,} deals/{info['api_calls']} calls"
            for name, info in per_source.items()
        )
        rows.append(("download + parse only (both CRMs)",
                     f"{download.wall_seconds:.1f} s (CPU {download.cpu_seconds:.1f} s), "
                     f"{download.peak_rss_mb:,.0f} MB ({detail})",
                     "yardstick"))  # fmt: skip
        baseline = download.wall_seconds

        first = _sync(env, log_dir, "sync-sqlite-first")
        rows.append(("first sync, SQLite", f"{first.wall_seconds:.1f} s (CPU "
                     f"{first.cpu_seconds:.1f} s), {first.peak_rss_mb:,.0f} MB peak RSS, tree "
                     f"(sync process {first.own_peak_rss_mb:,.0f} MB) "
                     f"({_calls(_runs(sqlite_url))})",
                     _verdicts(first, baseline)))  # fmt: skip
        again = _sync(env, log_dir, "sync-sqlite-incremental")
        rows.append(("incremental sync, nothing changed, SQLite",
                     f"{again.wall_seconds:.1f} s, {again.peak_rss_mb:,.0f} MB "
                     f"({_calls(_runs(sqlite_url))})", ""))  # fmt: skip

        database = _postgres_database()
        if database is None:
            rows.append(("first sync, PostgreSQL", "skipped: server unreachable", ""))
        else:
            url, name = database
            try:
                pg = _sync(_base_env(sandbox, url), log_dir, "sync-postgres-first")
                rows.append(("first sync, PostgreSQL", f"{pg.wall_seconds:.1f} s (CPU "
                             f"{pg.cpu_seconds:.1f} s), {pg.peak_rss_mb:,.0f} MB peak RSS, tree "
                             f"(sync process {pg.own_peak_rss_mb:,.0f} MB) "
                             f"({_calls(_runs(url))})",
                             _verdicts(pg, baseline)))  # fmt: skip
                again_pg = _sync(_base_env(sandbox, url), log_dir, "sync-postgres-incremental")
                summary = f"{again_pg.wall_seconds:.1f} s ({_calls(_runs(url))})"
                rows.append(("incremental sync, nothing changed, PostgreSQL", summary, ""))
            finally:
                _drop_postgres(name)
    return rows
