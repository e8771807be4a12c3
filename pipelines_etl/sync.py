"""The nightly sync: extract, normalize, reconcile, snapshot, stale detection, metrics.

The CLI runs `run_sync`; the Dagster assets run the same steps one asset at a time. Each
source gets its own `sync_runs` row; a failing source never stops the others, and a run that
failed says why in its row and in the outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import pandas as pd
import sqlalchemy as sa

from connectors.base import CrmConnector
from pipelines_etl.config import AppConfig
from pipelines_etl.failures import failure_message
from pipelines_etl.flags.detect import DetectResult, detect_stale_deals
from pipelines_etl.health import compute_health, store_health
from pipelines_etl.process_tuning import release_free_memory
from pipelines_etl.quotas import refresh_quotas
from pipelines_etl.sources import Source
from pipelines_etl.steps.extract import (
    DEALS_STREAM,
    ExtractResult,
    extract_deals,
    refresh_reference,
)
from pipelines_etl.steps.normalize import NormalizeResult, normalize_source
from pipelines_etl.steps.reconcile import reconcile_deletions, reconcile_due
from pipelines_etl.steps.transform_pool import TransformPool
from transforms.metrics import MetricsResult
from warehouse.cursors import read_cursor
from warehouse.deal_frames import load_deal_frames
from warehouse.engine import create_warehouse_engine
from warehouse.lock import WarehouseLock
from warehouse.migrate import upgrade
from warehouse.runs import RunCounts, fail_abandoned_runs, finish_run, record_load, start_run
from warehouse.schema import raw_deals, raw_stage_history
from warehouse.snapshots import take_snapshot
from warehouse.statistics import refresh_statistics

logger = logging.getLogger(__name__)


class SyncProgress(Protocol):
    """Where a sync reports what it is doing (a progress bar, Dagster's log, nothing)."""

    def phase(self, source: str, phase: str) -> None:
        """A source moved on to `phase` (reference, extract, normalize, reconcile)."""

    def advance(self, source: str, rows: int) -> None:
        """`rows` more deals of `source` went through the current phase."""


class QuietProgress:
    """A SyncProgress that reports nothing."""

    def phase(self, source: str, phase: str) -> None:
        """Ignore the phase."""

    def advance(self, source: str, rows: int) -> None:
        """Ignore the rows."""


@dataclass
class SourceOutcome:
    """How one source's sync ended."""

    source: str
    run_id: str
    full: bool = False
    status: str = "running"
    extract: ExtractResult | None = None
    normalize: NormalizeResult | None = None
    reconciled: int = 0
    api_calls: int = 0
    reference: dict[str, int] = field(default_factory=dict)
    message: str | None = None

    @property
    def ok(self) -> bool:
        """True when the source synced completely."""
        return self.status == "succeeded"

    @property
    def extract_rows(self) -> int:
        """Deals the extract read (0 when it did not run)."""
        return self.extract.deals_read if self.extract else 0

    def counts(self) -> RunCounts:
        """The counts of its `sync_runs` row."""
        n = self.normalize or NormalizeResult()
        return RunCounts(
            rows_read=self.extract.deals_read if self.extract else 0,
            inserted=n.inserted,
            updated=n.updated,
            unchanged=n.unchanged,
            deleted=n.deleted + self.reconciled,
            quarantined=n.quarantined,
            api_calls=self.api_calls,
        )


@dataclass
class SyncOutcome:
    """How a whole sync ended."""

    sources: list[SourceOutcome]
    snapshot_rows: int = 0
    stale: DetectResult | None = None
    health: MetricsResult | None = None

    @property
    def ok(self) -> bool:
        """True when every source synced completely."""
        return all(source.ok for source in self.sources)


def open_warehouse(url: str) -> sa.Engine:
    """The warehouse engine, its schema migrated to the latest revision."""
    engine = create_warehouse_engine(url)
    upgrade(engine)
    return engine


def extract_phase(
    *,
    engine: sa.Engine,
    source: Source,
    connector: CrmConnector,
    app_config: AppConfig,
    full: bool,
    progress: SyncProgress,
) -> SourceOutcome:
    """Reference data and raw pages of one source, recorded as a finished `sync_runs` row."""
    name = source.name
    with engine.begin() as conn:
        run_id = start_run(
            conn,
            source=name,
            mode="full" if full else "incremental",
            cursor_before=read_cursor(conn, name, DEALS_STREAM),
        )
    outcome = SourceOutcome(source=name, run_id=run_id, full=full)
    try:
        progress.phase(name, "reference")
        outcome.reference = refresh_reference(
            engine=engine, connector=connector, configured_rates=app_config.rates
        )
        progress.phase(name, "extract")
        outcome.extract = extract_deals(
            engine=engine,
            connector=connector,
            run_id=run_id,
            full=full,
            on_page=lambda rows: progress.advance(name, rows),
        )
        with engine.begin() as conn:
            refresh_statistics(conn, [raw_deals, raw_stage_history])
        outcome.status = "succeeded"
    except Exception as error:  # recorded in sync_runs; the caller decides whether to go on
        outcome.status = "failed"
        outcome.message = failure_message(error)
        logger.warning("extract of %s failed: %s", name, outcome.message)
    outcome.api_calls = connector.api_calls
    with engine.begin() as conn:
        finish_run(
            conn,
            run_id=run_id,
            source=name,
            status=outcome.status,
            counts=outcome.counts(),
            cursor_after=read_cursor(conn, name, DEALS_STREAM),
            message=outcome.message,
        )
    return outcome


def load_phase(
    *,
    engine: sa.Engine,
    source: Source,
    connector: CrmConnector,
    app_config: AppConfig,
    outcome: SourceOutcome,
    progress: SyncProgress,
    executor: Executor | None = None,
) -> SourceOutcome:
    """Normalize pending raw deals of one source, reconcile deletions when due, record both.

    `executor` (see `transform_pool`) runs the pure half of normalizing in a worker process.
    """
    name = source.name
    try:
        progress.phase(name, "normalize")
        outcome.normalize = normalize_source(
            engine=engine,
            connector=connector,
            source_config=source.config,
            module=source.module,
            app_config=app_config,
            run_id=outcome.run_id,
            on_batch=lambda rows: progress.advance(name, rows),
            executor=executor,
        )
        with engine.connect() as conn:
            due = reconcile_due(
                conn,
                source=name,
                every_days=app_config.schedule.reconcile_every_days,
                full=outcome.full,
            )
        if due:
            progress.phase(name, "reconcile")
            outcome.reconciled = reconcile_deletions(engine=engine, connector=connector)
        outcome.message = outcome.normalize.unmapped_message()
        progress.phase(name, "done")
    except Exception as error:  # recorded in sync_runs; one source must not stop the others
        outcome.status = "failed"
        outcome.message = failure_message(error)
        logger.warning("load of %s failed: %s", name, outcome.message)
    outcome.api_calls = connector.api_calls
    with engine.begin() as conn:
        record_load(
            conn,
            run_id=outcome.run_id,
            source=name,
            counts=outcome.counts(),
            failed=not outcome.ok,
            message=outcome.message,
        )
    return outcome


def connect_all(
    sources: list[Source], env: Mapping[str, str], config: AppConfig
) -> dict[str, CrmConnector]:
    """A connector per source, built up front so missing credentials fail before any work."""
    return {source.name: source.connect(env, config) for source in sources}


def snapshot_today(engine: sa.Engine) -> int:
    """Write today's (UTC) deal snapshot; returns its rows."""
    with engine.begin() as conn:
        return take_snapshot(conn, snapshot_date=datetime.now(UTC).date())


def run_sync(
    *,
    engine: sa.Engine,
    sources: list[Source],
    app_config: AppConfig,
    env: Mapping[str, str],
    full: bool = False,
    progress: SyncProgress | None = None,
    lock_wait: float | None = 0.0,
    now: pd.Timestamp | None = None,
) -> SyncOutcome:
    """The nightly job over `sources`, holding the warehouse's one-writer lock throughout.

    `now` (default: the current time) is the instant stale deals and metrics are computed at.
    """
    progress = progress or QuietProgress()
    connectors = connect_all(sources, env, app_config)
    with WarehouseLock(engine, wait=lock_wait):
        with engine.begin() as conn:
            fail_abandoned_runs(conn, message="abandoned: the process ended mid-run")
        with TransformPool() as transforms:
            # Every source's reference data (rates, catalogs) lands before any source loads.
            outcomes = [
                extract_phase(
                    engine=engine,
                    source=source,
                    connector=connectors[source.name],
                    app_config=app_config,
                    full=full,
                    progress=progress,
                )
                for source in sources
            ]
            release_free_memory()  # the extract's pages, before normalize's batches
            for source, outcome in zip(sources, outcomes, strict=True):
                if outcome.ok:
                    load_phase(
                        engine=engine,
                        source=source,
                        connector=connectors[source.name],
                        app_config=app_config,
                        outcome=outcome,
                        progress=progress,
                        executor=transforms.executor(rows=outcome.extract_rows),
                    )
        release_free_memory()  # the extract's and normalize's garbage, before the big reads
        snapshot_rows = snapshot_today(engine)
        progress.phase("warehouse", "stale deals")
        frames = load_deal_frames(engine)  # read once for detection and the metrics
        stale = detect_stale_deals(engine, app_config=app_config, now=now, frames=frames)
        progress.phase("warehouse", "metrics")
        refresh_quotas(engine, app_config)
        health = compute_health(engine, app_config=app_config, as_of=now, frames=frames)
        del frames  # the largest objects of the run: not kept while the metrics are stored
        store_health(engine, health, currency=app_config.reporting_currency)
        progress.phase("warehouse", "done")
    return SyncOutcome(outcomes, snapshot_rows, stale=stale, health=health)
