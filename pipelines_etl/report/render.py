"""Render the report to one self-contained HTML page (inline CSS and SVG, no network)."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from pipelines_etl.report.build import ReportData
from pipelines_etl.report.charts import (
    COLORS,
    attainment_bar,
    forecast_chart,
    funnel_chart,
    line_chart,
    share_bar,
    stage_time_chart,
    stale_rules_chart,
)

TEMPLATE = "template.html.j2"


def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(Path(__file__).resolve().parent),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=False,
        keep_trailing_newline=True,
    )


def _charts(report: ReportData) -> dict[str, object]:
    currency = report.currency
    charts: dict[str, object] = {
        "funnel": funnel_chart(report.funnel, currency=currency),
        "stage_time": stage_time_chart(report.times),
        "forecast": forecast_chart(report.forecast, currency=currency),
        "win_rate": line_chart(
            report.trend,
            attr="win_rate",
            title="Win rate by count at each month end",
            color=COLORS["win_rate"],
            percent_axis=True,
        ),
        "cycle": line_chart(
            report.trend,
            attr="avg_cycle",
            title="Average sales cycle (days) at each month end",
            color=COLORS["cycle"],
            percent_axis=False,
        ),
        "attainment": attainment_bar,
    }
    if report.stale_total is not None:
        _count, _amount, share_count, share_amount = report.stale_total
        charts["stale_count"] = share_bar(
            share_count,
            title="Stale share of open deals",
            color=COLORS["stale"],
            label="stale share of open deals",
        )
        charts["stale_amount"] = share_bar(
            share_amount,
            title="Stale share of open amount",
            color=COLORS["stale"],
            label="stale share of open amount",
        )
        charts["stale_rules"] = stale_rules_chart(report.stale_rules, currency=currency)
    return charts


def render_report(report: ReportData) -> str:
    """The report as one HTML document."""
    template = _environment().get_template(TEMPLATE)
    return template.render(r=report, charts=_charts(report))
