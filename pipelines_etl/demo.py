"""`pipelines-etl demo`: the sandbox CRMs and the whole toolkit against them, end to end.

Runs on a laptop with no CRM account: the sandbox serves both APIs over HTTPS in this
process; the nightly sync reads them into a fresh demo warehouse (`./data/demo.db`), exactly
as it would read real CRMs; the stale flags are pushed back to the sandbox; the pipeline
health is printed and the HTML report written.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from pathlib import Path

import sqlalchemy as sa
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from connectors.sandbox.server import SandboxServer
from pipelines_etl.config import AppConfig, SafetyConfig
from pipelines_etl.flags.push import push_flags
from pipelines_etl.flags_command import outcome_table
from pipelines_etl.health import compute_health, store_health
from pipelines_etl.metrics_command import headline_table
from pipelines_etl.quotas import refresh_quotas
from pipelines_etl.report_command import write_report
from pipelines_etl.sources import configured_sources
from pipelines_etl.sync import open_warehouse, run_sync
from pipelines_etl.sync_command import RichProgress, closing_lines, summary_table
from transforms.fiscal import fiscal_quarter_label
from warehouse.schema import deals, stale_deal_flags

console = Console()
DATA = Path("data")
DEMO_WAREHOUSE = DATA / "demo.db"
DEMO_QUOTAS = DATA / "demo-quotas.csv"
DEMO_REPORT = DATA / "pipeline-report.html"
DEMO_QUOTA_AMOUNT = 250_000
SHOWN_FLAGS = 8


def demo_config() -> AppConfig:
    """The defaults, with the flag safety limit opened: every generated deal is years old.

    On a real CRM the first push stops at 25% of open deals (or 1,000) and says how to raise
    it; the demo raises it up front.
    """
    return AppConfig(safety=SafetyConfig(max_new_flags_share=1.0, max_new_flags=1_000_000))


def _fresh_warehouse(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    for leftover in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm"))):
        leftover.unlink(missing_ok=True)
    return f"sqlite:///{path}"


def write_demo_quotas(engine: sa.Engine, *, path: Path, today: dt.date) -> Path:
    """A quota of DEMO_QUOTA_AMOUNT this quarter for every rep with open deals."""
    with engine.connect() as conn:
        owners = conn.execute(
            sa.select(deals.c.owner_email)
            .where(deals.c.status == "open", deals.c.owner_email.is_not(None))
            .distinct()
            .order_by(deals.c.owner_email)
        ).scalars()
        period = fiscal_quarter_label(today).removeprefix("FY")
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["owner", "period", "amount"])
            writer.writerows([owner, period, DEMO_QUOTA_AMOUNT] for owner in owners)
    return path


def flagged_table(engine: sa.Engine) -> Table:
    """The largest flagged deals with the reason written to the CRM."""
    query = (
        sa.select(deals.c.source, deals.c.name, deals.c.amount_reporting, stale_deal_flags.c.reason)
        .join(stale_deal_flags, stale_deal_flags.c.deal_key == deals.c.deal_key)
        .where(stale_deal_flags.c.state == "pushed")
        .order_by(sa.cast(deals.c.amount_reporting, sa.Float).desc())
        .limit(SHOWN_FLAGS)
    )
    table = Table(title=f"largest deals flagged in the CRMs (first {SHOWN_FLAGS})")
    for column in ("source", "deal", "amount", "reason"):
        table.add_column(column, overflow="fold", justify="right" if column == "amount" else "left")
    with engine.connect() as conn:
        for source, name, amount, reason in conn.execute(query):
            shown = "—" if amount is None else f"{amount:,.0f}"
            table.add_row(source, name, shown, reason)
    return table


def run_demo(*, deals: int, seed: int) -> None:
    """Start the sandbox, sync it, push the stale flags, print the health, write the report."""
    console.rule("[bold]pipelines-etl demo")
    with console.status(f"starting the sandbox CRMs ({deals:,} deals each)…"):
        server = SandboxServer(port=0, deals=deals, seed=seed)
        server.start()
    try:
        console.print(f"sandbox: Salesforce and HubSpot APIs at {server.url}")
        env = {**os.environ, **server.env()}
        config = demo_config()
        engine = open_warehouse(_fresh_warehouse(DEMO_WAREHOUSE))
        console.print(f"warehouse: {DEMO_WAREHOUSE}")
        sources = configured_sources(config, env)

        console.rule("1. the nightly sync")
        columns = (
            SpinnerColumn(),
            TextColumn("{task.description:<12} {task.fields[phase]:<11}"),
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

        console.rule("2. pipeline health")
        quotas = write_demo_quotas(engine, path=DEMO_QUOTAS, today=dt.datetime.now(dt.UTC).date())
        config = config.model_copy(update={"quotas_file": quotas})
        refresh_quotas(engine, config)
        health = compute_health(engine, app_config=config)
        store_health(engine, health, currency=config.reporting_currency)
        console.print(headline_table(health))
        console.print(f"quotas: {DEMO_QUOTA_AMOUNT:,} per rep this quarter ({quotas})")

        console.rule("3. stale deals flagged in the CRMs")
        with console.status("pushing flags to the sandbox CRMs…"):
            pushed = push_flags(engine, sources=sources, app_config=config, env=env, apply=True)
        console.print(outcome_table(pushed))
        console.print(flagged_table(engine))
        entries = server.write_log.entries()
        flag_names = {name for source in sources for name in source.flag_fields(config).values()}
        others = sorted({entry.field for entry in entries if entry.field not in flag_names})
        console.print(
            f"the sandbox logged {len(entries):,} field writes; fields other than the flag"
            f" fields: {', '.join(others) if others else 'none'}",
            highlight=False,
        )

        console.rule("4. the report")
        report = write_report(engine, app_config=config, out=DEMO_REPORT)
        console.print(f"report: [bold]{report}[/] (open it in a browser; it needs no network)")
        console.print(f"warehouse: [bold]{DEMO_WAREHOUSE}[/] (query it with any SQLite client)")
    finally:
        server.stop()
