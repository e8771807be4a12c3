"""`pipelines-etl flags plan|push|clear` and `pipelines-etl crm setup`.

Every command is a dry run unless `--apply`: it shows per source the flags a push would set,
update and clear, in a table. A user's mistake (configuration, credentials, the safety limit,
missing flag fields, a busy warehouse) ends with one line and a non-zero exit status.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from pipelines_etl.flags.push import PushResult
    from pipelines_etl.flags.setup import SetupReport

flags_app = typer.Typer(help="Stale-deal flags in the CRMs (dry run unless --apply).",
                        no_args_is_help=True)  # fmt: skip
crm_app = typer.Typer(help="The CRMs' flag fields.", no_args_is_help=True)

out = Console()
err = Console(stderr=True)
DETAIL_ROWS = 20
SourceOption = Annotated[str | None, typer.Option(help="Only this configured source.")]
ApplyOption = Annotated[bool, typer.Option("--apply", help="Write to the CRM (else a dry run).")]


def _user_errors() -> tuple[type[BaseException], ...]:
    from pipelines_etl.flags.push import SafetyLimitExceeded
    from pipelines_etl.flags.setup import FlagFieldsMissing
    from pipelines_etl.user_errors import USER_ERRORS

    return (*USER_ERRORS, SafetyLimitExceeded, FlagFieldsMissing)


def _run(action: Callable[[], bool]) -> None:
    """Run a command body; a user's error is one red line and exit 1, False is exit 1."""
    try:
        ok = action()
    except _user_errors() as error:
        err.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=1) from None
    if not ok:
        raise typer.Exit(code=1)


def _context(source: str | None) -> tuple[Any, Any, list[Any], dict[str, str]]:
    from pipelines_etl.config import load_config, warehouse_url
    from pipelines_etl.sources import configured_sources, select_sources
    from pipelines_etl.sync import open_warehouse

    env = dict(os.environ)
    config = load_config(env)
    sources = select_sources(configured_sources(config, env), source)
    return open_warehouse(warehouse_url(env)), config, sources, env


def plan_table(result: PushResult) -> Table:
    """Per source: flags to set, update and clear, given-up deals and open deals."""
    table = Table(title="flag changes" + ("" if result.applied else " (dry run)"))
    for column in ("source", "set", "update", "clear", "given up", "open deals"):
        table.add_column(column, justify="left" if column == "source" else "right")
    for name, plan in result.plan.sources.items():
        table.add_row(
            name,
            str(plan.count("set")),
            str(plan.count("update")),
            str(plan.count("clear")),
            str(len(plan.given_up)),
            str(plan.open_deals),
        )
    return table


def detail_table(result: PushResult) -> Table:
    """The first deals of the plan with each field's old and new value."""
    table = Table(title=f"first {DETAIL_ROWS} changes")
    for column in ("deal", "action", "changes"):
        table.add_column(column, overflow="fold")
    changes = [c for plan in result.plan.sources.values() for c in plan.changes]
    for change in changes[:DETAIL_ROWS]:
        text = "; ".join(f"{m}: {old!r} → {new!r}" for m, (old, new) in change.changes.items())
        table.add_row(change.deal_key, change.action, text)
    return table


def outcome_table(result: PushResult) -> Table:
    """Per source after an applied push: written, failed, skipped, given up, API calls."""
    table = Table(title=f"flag push {result.run_id}")
    for column in ("source", "written", "failed", "skipped", "gave up", "API calls"):
        table.add_column(column, justify="left" if column == "source" else "right")
    table.add_column("message", overflow="fold")
    for source in result.sources.values():
        message = source.error or "; ".join(f"{k}: {e}" for k, e in source.failures[:3])
        table.add_row(
            source.source,
            str(source.written),
            str(source.failed),
            str(source.skipped),
            str(len(source.gave_up)),
            str(source.api_calls),
            message,
        )
    return table


def _show_plan(result: PushResult) -> bool:
    out.print(plan_table(result))
    if result.plan.total:
        out.print(detail_table(result))
    for message in result.safety:
        err.print(f"[yellow]safety limit:[/] {message}", highlight=False, soft_wrap=True)
    return not result.safety


def _push(*, source: str | None, apply: bool, clear_all: bool, plan_only: bool) -> bool:
    from pipelines_etl.flags.clear import clear_all_flags
    from pipelines_etl.flags.push import push_flags

    engine, config, sources, env = _context(source)
    run = clear_all_flags if clear_all else push_flags
    with err.status("pushing flags…" if apply else "planning flags…"):
        result = run(engine, sources=sources, app_config=config, env=env, apply=apply)
    if not apply:
        ok = _show_plan(result)
        if not plan_only:
            err.print("dry run: nothing was written; add --apply to write these changes")
        return ok or plan_only
    out.print(outcome_table(result))
    return result.ok


@flags_app.command("plan")
def flags_plan(source: SourceOption = None) -> None:
    """Show the flag changes a push would make (sets, updates, clears), per source."""
    _run(lambda: _push(source=source, apply=False, clear_all=False, plan_only=True))


@flags_app.command("push")
def flags_push(apply: ApplyOption = False, source: SourceOption = None) -> None:
    """Push the flag changes to the CRMs; without --apply it is a dry run."""
    _run(lambda: _push(source=source, apply=apply, clear_all=False, plan_only=False))


@flags_app.command("clear")
def flags_clear(
    all_: Annotated[bool, typer.Option("--all", help="Every flag the toolkit set.")] = False,
    source: SourceOption = None,
    apply: ApplyOption = False,
) -> None:
    """Remove every flag the toolkit set (a dry run without --apply)."""

    def body() -> bool:
        if not all_:
            err.print("[bold red]error:[/] say --all: clear removes every flag the toolkit set")
            return False
        return _push(source=source, apply=apply, clear_all=True, plan_only=False)

    _run(body)


def setup_table(report: SetupReport) -> Table:
    """One row per flag field: source, field, status and what to do."""
    table = Table(title="CRM flag fields")
    for column in ("source", "field", "status", "detail"):
        table.add_column(column, overflow="fold")
    for status in report.fields:
        style = "green" if status.ready else "red"
        table.add_row(status.source, status.name, f"[{style}]{status.status}[/]", status.detail)
    for name, message in report.errors.items():
        table.add_row(name, "-", "[red]error[/]", message)
    return table


@crm_app.command("setup")
def crm_setup(apply: ApplyOption = False, source: SourceOption = None) -> None:
    """Check the flag fields exist and are writable; with --apply create HubSpot's."""
    from pipelines_etl.flags.setup import check_setup

    def body() -> bool:
        _, config, sources, env = _context(source)
        with err.status("checking the flag fields…"):
            report = check_setup(sources, app_config=config, env=env, apply=apply)
        out.print(setup_table(report))
        for line in report.instructions:
            out.print(f"to do: {line}", highlight=False, soft_wrap=True)
        return all(report.ready(s.name) for s in sources)

    _run(body)
