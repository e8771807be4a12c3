"""`pipelines-etl report`: write the HTML pipeline health report from the warehouse."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from pipelines_etl.config import AppConfig, load_config, warehouse_url
from pipelines_etl.health import (
    NO_DEALS_MESSAGE,
    NoDealsYet,
    compute_health,
    deal_count,
    end_of_day,
    load_metric_inputs,
)
from pipelines_etl.report.build import build_report
from pipelines_etl.report.render import render_report
from pipelines_etl.report.sources import owner_names, source_lines
from pipelines_etl.report.trend import month_end_dates, outcome_trend
from warehouse.engine import create_warehouse_engine, is_memory_sqlite

DEFAULT_OUT = Path("data") / "pipeline-report.html"
TREND_MONTHS = 12


class ReportError(ValueError):
    """The report cannot be written, said in one line a user can act on."""


def parse_as_of(text: str | None) -> pd.Timestamp | None:
    """T for `--as-of DATE` (the end of DATE, UTC); None for now."""
    if text is None:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise ReportError(f"--as-of {text!r}: expected a date such as 2026-06-30") from None
    return end_of_day(day)


def report_html(
    engine: sa.Engine,
    *,
    app_config: AppConfig,
    as_of: pd.Timestamp | None = None,
    generated_at: dt.datetime | None = None,
) -> str:
    """The report page for the warehouse as of T (default now); NoDealsYet when it is empty."""
    if deal_count(engine) == 0:
        raise NoDealsYet(NO_DEALS_MESSAGE)
    stamp = pd.Timestamp.now(tz="UTC") if as_of is None else as_of
    result = compute_health(engine, app_config=app_config, as_of=stamp)
    deals = load_metric_inputs(engine, as_of=stamp).deals
    trend = outcome_trend(
        deals,
        dates=month_end_dates(stamp, months=TREND_MONTHS),
        window_days=app_config.rate_window_days,
    )
    report = build_report(
        result,
        trend=trend,
        sources=source_lines(engine),
        currency=app_config.reporting_currency,
        reporting_tz=app_config.reporting_timezone,
        rate_window_days=app_config.rate_window_days,
        owner_names=owner_names(engine),
        generated_at=generated_at,
    )
    return render_report(report)


def write_text_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` via a temporary file, so a reader never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with temp.open("x", encoding="utf-8") as stream:  # mode from the umask, as any file
            stream.write(text)
        temp.replace(path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _open_existing_warehouse(url: str) -> sa.Engine:
    """The warehouse engine; NoDealsYet when it was never created (nothing is created here)."""
    parsed = make_url(url)
    if (
        parsed.get_backend_name() == "sqlite"
        and not is_memory_sqlite(parsed)
        and parsed.database
        and not Path(parsed.database).expanduser().exists()
    ):
        raise NoDealsYet(NO_DEALS_MESSAGE)
    engine = create_warehouse_engine(parsed)
    if not sa.inspect(engine).has_table("deals"):
        engine.dispose()
        raise NoDealsYet(NO_DEALS_MESSAGE)
    return engine


def run_report_command(
    *, out: Path | None, as_of: str | None, env: Mapping[str, str] | None = None
) -> Path:
    """Write the report as the CLI does and return its path."""
    env = dict(os.environ) if env is None else env
    stamp = parse_as_of(as_of)
    config = load_config(env)
    target = out if out is not None else DEFAULT_OUT
    if target.exists() and target.is_dir():
        raise ReportError(f"--out {target}: is a folder; name the HTML file to write")
    engine = _open_existing_warehouse(warehouse_url(env))
    try:
        return write_report(engine, app_config=config, out=target, as_of=stamp)
    finally:
        engine.dispose()


def write_report(
    engine: sa.Engine, *, app_config: AppConfig, out: Path, as_of: pd.Timestamp | None = None
) -> Path:
    """Render the report of this warehouse (as of T, default now) into `out`; returns `out`."""
    html = report_html(engine, app_config=app_config, as_of=as_of)
    try:
        write_text_atomically(out, html)
    except OSError as error:
        raise ReportError(f"cannot write the report to {out}: {error.strerror}") from None
    return out
