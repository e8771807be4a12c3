"""`pipelines-etl demo`: the sandbox CRMs and the nightly job against them, end to end.

Runs on a laptop with no CRM account: the sandbox serves both APIs over HTTPS in this
process, and the sync reads them into a fresh demo warehouse (`./data/demo.db`), exactly as
it would read real CRMs.
"""

from __future__ import annotations

import os
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from connectors.sandbox.server import SandboxServer
from pipelines_etl.config import AppConfig
from pipelines_etl.sources import configured_sources
from pipelines_etl.sync import open_warehouse, run_sync
from pipelines_etl.sync_command import RichProgress, closing_lines, summary_table

console = Console()
DEMO_WAREHOUSE = Path("data/demo.db")
EXAMPLE = "e.g. deals by canonical stage and status, from the `deals` table"


def demo_config() -> AppConfig:
    """The demo's configuration: the defaults (rates come from the sandbox org)."""
    return AppConfig()


def _fresh_warehouse(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    for leftover in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm"))):
        leftover.unlink(missing_ok=True)
    return f"sqlite:///{path}"


def run_demo(*, deals: int, seed: int) -> None:
    """Start the sandbox, sync it into the demo warehouse, print what happened."""
    console.rule("[bold]pipelines-etl demo")
    with console.status(f"starting the sandbox CRMs ({deals:,} deals each)…"):
        server = SandboxServer(port=0, deals=deals, seed=seed)
        server.start()
    try:
        console.print(f"sandbox: Salesforce and HubSpot APIs at {server.url}")
        env = {**os.environ, **server.env()}
        config = demo_config()
        url = _fresh_warehouse(DEMO_WAREHOUSE)
        engine = open_warehouse(url)
        console.print(f"warehouse: {DEMO_WAREHOUSE}")
        sources = configured_sources(config, env)
        columns = (
            SpinnerColumn(),
            TextColumn("{task.description:<12} {task.fields[phase]:<10}"),
            BarColumn(bar_width=None),
            TextColumn("{task.completed:>8,} deals"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console) as progress:
            outcome = run_sync(
                engine=engine,
                sources=sources,
                app_config=config,
                env=env,
                progress=RichProgress(progress),
            )
        console.print(summary_table(outcome))
        for line in closing_lines(outcome):
            console.print(line, highlight=False)
        if not outcome.ok:
            raise SystemExit(1)
        console.print(f"\nquery it with any SQLite client: [bold]{DEMO_WAREHOUSE}[/] ({EXAMPLE})")
    finally:
        server.stop()
