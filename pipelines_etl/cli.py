"""The `pipelines-etl` command line: sync, sandbox, demo.

A user's mistake (bad configuration, missing credentials, a busy warehouse, a spent API
quota) ends with one clear line and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pipelines_etl.flags_command import crm_app, flags_app
from pipelines_etl.user_errors import USER_ERRORS

app = typer.Typer(
    name="pipelines-etl",
    help="One true view of the sales pipeline across CRMs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
sandbox_app = typer.Typer(help="The local stand-in CRMs.", no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox")

err = Console(stderr=True)


def _fail(error: BaseException) -> typer.Exit:
    err.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
    return typer.Exit(code=1)


@sandbox_app.command("serve")
def sandbox_serve(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 picks a free one).")] = 8765,
    deals: Annotated[int | None, typer.Option(help="Generated deals per CRM.")] = None,
    data: Annotated[
        Path | None, typer.Option(help="Fixture JSON file (sandbox.md).", exists=True)
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of data and fault draws.")] = 0,
    faults: Annotated[str | None, typer.Option(help="Faults, e.g. '429=0.1,reset@5'.")] = None,
) -> None:
    """Serve the Salesforce and HubSpot sandbox APIs until stopped."""
    from connectors.sandbox.serve import serve

    if deals is not None and data is not None:
        raise _fail(ValueError("--deals and --data exclude each other: choose one"))
    try:
        serve(port=port, deals=deals, data=data, seed=seed, faults=faults)
    except USER_ERRORS as error:
        raise _fail(error) from None


@app.command()
def sync(
    source: Annotated[str | None, typer.Option(help="Only this configured source.")] = None,
    full: Annotated[bool, typer.Option("--full", help="Re-extract everything.")] = False,
) -> None:
    """The nightly job: extract, normalize, load, snapshot, stale detection, metrics (no CRM
    writes)."""
    from pipelines_etl.sync_command import run_sync_command

    try:
        ok = run_sync_command(source=source, full=full)
    except USER_ERRORS as error:
        raise _fail(error) from None
    if not ok:
        raise typer.Exit(code=1)


@app.command()
def demo(
    deals: Annotated[int, typer.Option(help="Generated deals per sandbox CRM.")] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of the sandbox data.")] = 0,
) -> None:
    """Start the sandbox CRMs and run the nightly job against them, end to end."""
    from pipelines_etl.demo import run_demo

    try:
        run_demo(deals=deals, seed=seed)
    except USER_ERRORS as error:
        raise _fail(error) from None


@app.command("metrics")
def metrics_command(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="End of this date (UTC), YYYY-MM-DD.")
    ] = None,
) -> None:
    """Print the pipeline health metrics (metrics.md) as of now or the end of --as-of."""
    from pipelines_etl.metrics_command import MetricsCommandError, run_metrics_command

    try:
        run_metrics_command(as_json=as_json, as_of=as_of)
    except (*USER_ERRORS, MetricsCommandError) as error:
        raise _fail(error) from None


@app.command("report")
def report_command(
    out: Annotated[
        Path | None, typer.Option("--out", help="HTML file to write.", show_default=False)
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="End of this date (UTC), YYYY-MM-DD.")
    ] = None,
) -> None:
    """Write the HTML pipeline health report (default ./data/pipeline-report.html)."""
    from pipelines_etl.health import NoDealsYet
    from pipelines_etl.report_command import ReportError, run_report_command

    try:
        path = run_report_command(out=out, as_of=as_of)
    except (*USER_ERRORS, NoDealsYet, ReportError) as error:
        raise _fail(error) from None
    typer.echo(str(path))


# Stale-deal flags (stale-deals.md): `flags plan|push|clear` and `crm setup`.
app.add_typer(flags_app, name="flags")
app.add_typer(crm_app, name="crm")

if __name__ == "__main__":
    app()
