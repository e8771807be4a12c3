"""The report page without a browser: figures equal `metrics --json`, nothing over the network,
undefined figures as "—", CRM text escaped, and the pieces (formats, periods, month ends)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from decimal import Decimal
from functools import cache
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from pipelines_etl.cli import app
from pipelines_etl.config import AppConfig
from pipelines_etl.report import formatting
from pipelines_etl.report.build import build_report, choose_quota_period
from pipelines_etl.report.figures import raw_value
from pipelines_etl.report.render import render_report
from pipelines_etl.report.trend import month_end_dates
from pipelines_etl.report_command import report_html
from transforms.metrics import compute_metrics
from warehouse.schema import deals

T = pd.Timestamp("2026-07-01T00:00Z")
GENERATED = dt.datetime(2026, 7, 1, 6, 0, tzinfo=dt.UTC)


def metrics_json_via_cli(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str], dict[str, Any]]:
    """doc_for(as_of_date): what `pipelines-etl metrics --json --as-of DATE` prints ('' = T)."""
    monkeypatch.delenv("PIPELINES_ETL_CONFIG", raising=False)
    monkeypatch.setenv("PIPELINES_ETL_WAREHOUSE_URL", engine.url.render_as_string(False))
    runner = CliRunner()

    @cache
    def doc_for(as_of_date: str) -> dict[str, Any]:
        day = as_of_date or "2026-06-30"
        result = runner.invoke(app, ["metrics", "--json", "--as-of", day])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    return doc_for


def by_address(
    figures: list[dict[str, Any]],
    metric: str,
    key: str = "",
    *,
    scope: str = "all",
    scope_key: str = "",
    motion: str = "new_business",
    as_of: str = "",
) -> list[str]:
    """Visible texts of the figures at one address."""
    return [
        " ".join(f["text"].split())
        for f in figures
        if f["data-metric"] == metric
        and f["data-key"] == key
        and f["data-scope"] == scope
        and f["data-scope-key"] == scope_key
        and f["data-motion"] == motion
        and f.get("data-as-of", "") == as_of
    ]


def test_every_figure_equals_metrics_json(
    full_warehouse: sa.Engine,
    monkeypatch: pytest.MonkeyPatch,
    figures_of: Callable[[str], list[dict[str, Any]]],
    figures_match: Callable[..., int],
) -> None:
    html = report_html(full_warehouse, app_config=AppConfig(), as_of=T, generated_at=GENERATED)
    figures = figures_of(html)
    checked = figures_match(figures, metrics_json_via_cli(full_warehouse, monkeypatch))
    assert checked > 150
    # hand-computed from the warehouse in conftest.py
    assert set(by_address(figures, "open_deals")) == {"3"}  # C, D, G (X deleted)
    assert set(by_address(figures, "open_pipeline_amount")) == {"USD 165,000"}
    assert set(by_address(figures, "win_rate")) == {"50.0%"}  # A won, B lost in W
    assert set(by_address(figures, "avg_sales_cycle_days")) == {"40.0 days"}
    assert by_address(figures, "bottleneck") == ["5 · Negotiation & commitment"]
    assert set(by_address(figures, "stage_conversion", "2->3")) == {"71.4%"}  # 5 / 7
    assert set(by_address(figures, "stale_deals", "share_amount")) == {"63.6%"}  # 105/165
    assert set(by_address(figures, "stale_deals", "rules|no_activity|count")) == {"1"}
    assert set(by_address(figures, "forecast_by_month", "overdue|amount")) == {
        "USD 25,000",
        "USD 25.0k",
    }
    period = "2026-04-01/2026-06-30"
    assert by_address(figures, "coverage", period, scope="owner", scope_key="ann@example.com") == [
        "covered"
    ]  # won 100k of 90k
    assert by_address(figures, "coverage", period, scope="owner", scope_key="bob@example.com") == [
        "0.00\u00d7"
    ]
    assert by_address(
        figures, "quota_attainment", period, scope="owner", scope_key="ann@example.com"
    ) == ["111.1%"]
    assert by_address(figures, "open_deals", motion="retention") == ["1"]
    # trend: as of the end of 2026-02-28, only F (lost 02-10) closed in the window
    assert set(by_address(figures, "win_rate", as_of="2026-02-28")) == {"0.0%"}
    assert set(by_address(figures, "win_rate", as_of="2025-09-30")) == {"—"}
    assert set(by_address(figures, "avg_sales_cycle_days", as_of="2025-10-31")) == {"80.0 days"}
    trend_dates = sorted({f["data-as-of"] for f in figures if f.get("data-as-of")})
    assert trend_dates[0] == "2025-07-31" and trend_dates[-1] == "2026-06-30"
    assert len(trend_dates) == 12
    assert "As of <strong>end of 2026-06-30 (UTC)</strong>" in html
    assert "hs (hubspot, 4 deals" in html and "sf (salesforce, 6 deals" in html


def test_the_page_references_nothing_over_the_network(full_warehouse: sa.Engine) -> None:
    html = report_html(full_warehouse, app_config=AppConfig(), as_of=T, generated_at=GENERATED)
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert not re.search(r"url\(|@import|<script|<link|<img|<iframe", html, re.I)
    assert "http://" not in html and "https://" not in html
    assert "default-src 'none'" in html  # the browser itself refuses any load
    assert html.count("<svg") >= 8 and 'role="img"' in html and "<title" in html


def test_one_owner_and_nothing_closed_shows_dashes(
    one_owner_warehouse: sa.Engine,
    monkeypatch: pytest.MonkeyPatch,
    figures_of: Callable[[str], list[dict[str, Any]]],
    figures_match: Callable[..., int],
) -> None:
    html = report_html(one_owner_warehouse, app_config=AppConfig(), as_of=T)
    figures = figures_of(html)
    assert figures_match(figures, metrics_json_via_cli(one_owner_warehouse, monkeypatch)) > 50
    for metric in ("win_rate", "avg_deal_size", "avg_sales_cycle_days", "bottleneck"):
        assert set(by_address(figures, metric)) == {"—"}, metric
    assert set(by_address(figures, "open_deals")) == {"2"}
    assert set(by_address(figures, "open_pipeline_amount")) == {"USD 1,000"}
    assert "No completed stage stays" in html and "No staleness data" not in html
    assert "No quota covers this period" in html
    assert by_address(figures, "excluded_unconverted", "open_pipeline_amount") == ["1"]


def test_crm_text_is_escaped(tmp_path: Any, one_owner_warehouse: sa.Engine) -> None:
    with one_owner_warehouse.begin() as conn:
        conn.execute(sa.update(deals).values(owner_name="<script>alert(1)</script>"))
    html = report_html(one_owner_warehouse, app_config=AppConfig(), as_of=T)
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_no_deals_at_all_renders_from_an_empty_result() -> None:
    result = compute_metrics(
        deals=None, stays=None, snapshots=None, quotas=None, flags=None, as_of=T
    )
    html = render_report(build_report(result, trend=[], sources=[], currency="EUR"))
    assert "Win rate (by count)" in html and "EUR 0" in html
    assert "No open deals with a close date" in html
    assert "Nothing closed in any of these windows" in html


@pytest.mark.parametrize(
    ("value", "fmt", "text"),
    [
        (Decimal("1234567.5"), "money", "USD 1,234,568"),
        (Decimal("45200"), "money_compact", "USD 45.2k"),
        (Decimal("1250000"), "money_compact", "USD 1.25M"),
        (950, "money_compact", "USD 950"),
        (0.625, "percent", "62.5%"),
        (40.0, "days", "40.0 days"),
        (1234, "count", "1,234"),
        (2.345, "ratio", "2.35\u00d7"),
        (2.5, "per_day", "USD 2.50/day"),
        (3750.0, "per_day", "USD 3,750/day"),
        (4, "stage", "4 · Proposal"),
        (None, "percent", "—"),
    ],
)
def test_formats(value: Any, fmt: formatting.Format, text: str) -> None:
    assert formatting.format_value(value, fmt, currency="USD") == text


def test_format_refuses_what_is_not_a_number() -> None:
    with pytest.raises(TypeError):
        formatting.format_value("12", "count", currency="USD")
    with pytest.raises(TypeError):
        formatting.format_value(True, "count", currency="USD")


def test_raw_values_are_exact() -> None:
    assert raw_value(Decimal("140.000000")) == "140"
    assert raw_value(0.1) == "0.1"
    assert raw_value(None) == ""


def test_quota_period_prefers_the_shortest_holding_today() -> None:
    periods = {"2026-04-01/2026-06-30", "2026-06-01/2026-06-30", "2026-07-01/2026-09-30"}
    assert choose_quota_period(periods, today=dt.date(2026, 6, 15)) == "2026-06-01/2026-06-30"
    assert choose_quota_period(periods, today=dt.date(2026, 12, 1)) == "2026-07-01/2026-09-30"
    assert choose_quota_period(periods, today=dt.date(2026, 1, 1)) == "2026-04-01/2026-06-30"
    assert choose_quota_period(set(), today=dt.date(2026, 1, 1)) is None


@pytest.mark.parametrize(
    ("as_of", "first", "last"),
    [
        ("2026-07-01T00:00Z", dt.date(2025, 7, 31), dt.date(2026, 6, 30)),  # T is a month end
        ("2026-07-15T10:00Z", dt.date(2025, 7, 31), dt.date(2026, 6, 30)),
        ("2026-03-01T00:00Z", dt.date(2025, 3, 31), dt.date(2026, 2, 28)),
    ],
)
def test_month_ends(as_of: str, first: dt.date, last: dt.date) -> None:
    dates = month_end_dates(pd.Timestamp(as_of), months=12)
    assert (dates[0], dates[-1], len(dates)) == (first, last, 12)
    with pytest.raises(ValueError):
        month_end_dates(pd.Timestamp(as_of), months=0)
