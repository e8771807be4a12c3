"""`pipelines-etl sync`: the nightly job with a progress bar per source and a summary table."""

from __future__ import annotations

import os

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipelines_etl.config import load_config, warehouse_url
from pipelines_etl.metrics_command import headline_table
from pipelines_etl.process_tuning import tune_sync_process
from pipelines_etl.sources import configured_sources, select_sources
from pipelines_etl.sync import SyncOutcome, open_warehouse, run_sync
from warehouse.engine import safe_url

console = Console(stderr=True)


class RichProgress:
    """A SyncProgress drawing one line per source: phase, deals so far, elapsed time."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._tasks: dict[str, TaskID] = {}

    def _task(self, source: str) -> TaskID:
        if source not in self._tasks:
            self._tasks[source] = self._progress.add_task(source, total=None, phase="starting")
        return self._tasks[source]

    def phase(self, source: str, phase: str) -> None:
        """Show the source's new phase and restart its row count ("done" stops the spinner)."""
        task = self._task(source)
        if phase == "done":
            done = self._progress.tasks[self._progress.task_ids.index(task)].completed
            self._progress.update(task, phase=phase, total=max(done, 1), completed=max(done, 1))
        else:
            self._progress.update(task, phase=phase, completed=0)

    def advance(self, source: str, rows: int) -> None:
        """Count rows of the current phase."""
        self._progress.advance(self._task(source), rows)


def summary_table(outcome: SyncOutcome) -> Table:
    """One row per source: status, rows read and written, API calls, and any message."""
    table = Table(title="sync summary")
    with_messages = any(source.message for source in outcome.sources)
    table.add_column("source", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for column in ("read", "inserted", "updated", "deleted", "quarantined", "API calls"):
        table.add_column(column, justify="right")
    if with_messages:
        table.add_column("message", overflow="fold")
    for source in outcome.sources:
        counts = source.counts()
        style = "green" if source.ok else "red"
        cells = (
            source.source,
            f"[{style}]{source.status}[/]",
            str(counts.rows_read),
            str(counts.inserted),
            str(counts.updated),
            str(counts.deleted),
            str(counts.quarantined),
            str(counts.api_calls),
        )
        table.add_row(*cells, *([source.message or ""] if with_messages else []))
    return table


def closing_lines(outcome: SyncOutcome) -> list[str]:
    """The snapshot and stale-deal counts under the summary table."""
    lines = [f"snapshot: {outcome.snapshot_rows:,} deals"]
    if outcome.stale is not None:
        stale = outcome.stale
        lines.append(
            f"stale deals: {stale.flagged:,} flagged ({stale.new:,} new, {stale.cleared:,} cleared,"
            f" {stale.dismissed:,} dismissed by admins); push them with `pipelines-etl flags push`"
        )
    return lines


def run_sync_command(*, source: str | None, full: bool) -> bool:
    """Run the sync as the CLI does; True when every source succeeded."""
    tune_sync_process()  # this process is the sync
    env = dict(os.environ)
    config = load_config(env)
    sources = select_sources(configured_sources(config, env), source)
    if not sources:
        console.print(
            "[yellow]no sources:[/] set a CRM's credentials (see README) or list sources in"
            " the file PIPELINES_ETL_CONFIG names"
        )
        return False
    url = warehouse_url(env)
    engine = open_warehouse(url)
    console.print(f"warehouse: {safe_url(engine.url)}", highlight=False)
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description:<16} {task.fields[phase]:<10}"),
        BarColumn(bar_width=None),
        TextColumn("{task.completed:>9,} deals"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        outcome = run_sync(
            engine=engine,
            sources=sources,
            app_config=config,
            env=env,
            full=full,
            progress=RichProgress(progress),
        )
    console.print(summary_table(outcome))
    for line in closing_lines(outcome):
        console.print(line, highlight=False)
    if outcome.health is not None:
        console.print(headline_table(outcome.health))
    return outcome.ok
