"""`pipelines-etl metrics [--json] [--as-of DATE]`: pipeline health as tables or one JSON object.

The JSON object is `MetricsResult.to_json_dict()` made strictly JSON: Decimals are numbers,
NaN and infinities (never meant to appear) become null, and `allow_nan=False` guarantees it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import sys
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TextIO

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from pipelines_etl.config import load_config, warehouse_url
from pipelines_etl.health import (
    NO_DEALS_MESSAGE,
    compute_health,
    deal_count,
    end_of_day,
    headline,
)
from pipelines_etl.sync import open_warehouse
from transforms.metrics import MetricsResult

MISSING = "—"


class MetricsCommandError(ValueError):
    """A mistake in the metrics command's input (a bad date, an empty warehouse)."""


def parse_as_of(text: str | None) -> pd.Timestamp | None:
    """T for `--as-of DATE`: the end of DATE (UTC); None for now."""
    if text is None:
        return None
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise MetricsCommandError(
            f"--as-of {text!r}: not a date; expected YYYY-MM-DD, e.g. 2026-06-30"
        ) from None
    return end_of_day(day)


def plain_json(value: Any) -> Any:
    """The value with only JSON types: Decimal and numpy numbers as numbers, NaN as null."""
    if isinstance(value, Mapping):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_json(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, dt.date | dt.datetime | pd.Timestamp):
        return value.isoformat()
    return value


def metrics_json(result: MetricsResult) -> str:
    """The `metrics --json` text: exactly one JSON object keyed by metric name."""
    return json.dumps(plain_json(result.to_json_dict()), allow_nan=False, sort_keys=False)


# ---- tables ------------------------------------------------------------------------------


def money(value: Any) -> str:
    """An amount with thousands separators and two decimals, or a dash when undefined."""
    return MISSING if value is None else f"{Decimal(value):,.2f}"


def share(value: Any) -> str:
    """A ratio as a percentage with one decimal, or a dash when undefined."""
    return MISSING if value is None else f"{float(value) * 100:.1f}%"


def days(value: Any) -> str:
    """A number of days with one decimal, or a dash when undefined."""
    return MISSING if value is None else f"{float(value):.1f}"


def headline_table(result: MetricsResult) -> Table:
    """The headline figures as a two-column table (also shown after a sync and in the demo)."""
    figures = headline(result)
    table = Table(title=f"pipeline health as of {result.as_of.isoformat()}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = [
        ("open deals", str(figures["open_deals"])),
        ("open pipeline", money(figures["open_pipeline_amount"])),
        ("weighted pipeline", money(figures["weighted_pipeline_amount"])),
        ("win rate", share(figures["win_rate"])),
        ("average deal size", money(figures["avg_deal_size"])),
        ("average sales cycle (days)", days(figures["avg_sales_cycle_days"])),
        ("pipeline velocity (per day)", money(figures["pipeline_velocity"])),
        ("stale deals", MISSING if figures["stale_deals"] is None else str(figures["stale_deals"])),
        ("stale share of open pipeline", share(figures["stale_share"])),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def _stage_table(result: MetricsResult) -> Table:
    neck = result.value("bottleneck")
    table = Table(
        title="open deals by stage, conversion and time in stage",
        caption=f"bottleneck (largest median time in stage): {MISSING if neck is None else neck}",
    )
    for column in ("stage", "deals", "amount", "weighted", "conversion to next"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for column in ("median days", "p90 days", "current age median"):
        table.add_column(column, justify="right")
    distribution = result.value("stage_distribution") or {}
    conversion = result.value("stage_conversion") or {}
    times = result.value("time_in_stage") or {}
    for stage, bucket in distribution.items():
        timing = times.get(stage, {})
        label = f"{stage} *" if neck is not None and str(neck) == stage else stage
        step = next((v for k, v in conversion.items() if k.split("->")[0] == stage), None)
        table.add_row(
            label,
            str(bucket["count"]),
            money(bucket["amount"]),
            money(bucket.get("weighted_amount")),
            share(step) if stage in {k.split("->")[0] for k in conversion} else "",
            days(timing.get("median")),
            days(timing.get("p90")),
            days(timing.get("current_age_median")),
        )
    return table


def _forecast_table(result: MetricsResult) -> Table:
    table = Table(title="forecast by close month")
    for column in ("month", "fiscal quarter", "deals", "open", "weighted", "commit"):
        table.add_column(
            column, justify="left" if column in ("month", "fiscal quarter") else "right"
        )
    for month, bucket in (result.value("forecast_by_month") or {}).items():
        table.add_row(
            month,
            str(bucket.get("fiscal_quarter", "")),
            str(bucket["count"]),
            money(bucket["amount"]),
            money(bucket.get("weighted_amount")),
            money(bucket.get("commit_amount")),
        )
    return table


def _owner_table(result: MetricsResult) -> Table:
    table = Table(title="owner scorecard")
    table.add_column("owner", no_wrap=True)
    for column in ("open deals", "open amount", "win rate", "avg deal size", "quota"):
        table.add_column(column, justify="right")
    owners = sorted(
        key for (m, scope, key) in result.figures if m == "new_business" and scope == "owner"
    )
    for owner in owners:
        attainment = result.value("quota_attainment", scope="owner", scope_key=owner) or {}
        quota = ", ".join(f"{period}: {share(v)}" for period, v in attainment.items())
        table.add_row(
            owner,
            str(result.value("open_deals", scope="owner", scope_key=owner) or 0),
            money(result.value("open_pipeline_amount", scope="owner", scope_key=owner)),
            share(result.value("win_rate", scope="owner", scope_key=owner)),
            money(result.value("avg_deal_size", scope="owner", scope_key=owner)),
            quota or MISSING,
        )
    return table


def print_tables(result: MetricsResult, console: Console) -> None:
    """The readable summary: headline, stages, forecast by month, owner scorecard."""
    for table in (
        headline_table(result),
        _stage_table(result),
        _forecast_table(result),
        _owner_table(result),
    ):
        console.print(table)


def run_metrics_command(
    *, as_json: bool, as_of: str | None, out: TextIO | None = None
) -> MetricsResult:
    """Compute the metrics from the warehouse and print them; raises on a user's mistake."""
    stamp = parse_as_of(as_of)
    env = dict(os.environ)
    config = load_config(env)
    engine = open_warehouse(warehouse_url(env))
    try:
        if deal_count(engine) == 0:
            raise MetricsCommandError(NO_DEALS_MESSAGE)
        result = compute_health(engine, app_config=config, as_of=stamp)
    finally:
        engine.dispose()
    stream = out or sys.stdout
    if as_json:
        stream.write(metrics_json(result) + "\n")
    else:
        print_tables(result, Console(file=stream))
    return result
