"""The report in a real headless browser (Debian's chromium): it loads with no console
message, the rendered DOM's figures equal `metrics --json`, and a screenshot shows the charts.

Console messages come from Chromium's own log (--enable-logging=stderr); a control page with a
deliberate error proves they are caught.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from pipelines_etl.cli import app
from pipelines_etl.config import AppConfig
from pipelines_etl.report.charts import COLORS
from pipelines_etl.report_command import report_html

try:
    from PIL import Image
except ImportError:  # pillow is a dev dependency; without it only the screenshot test stops
    Image = None

T = pd.Timestamp("2026-07-01T00:00Z")
GENERATED = dt.datetime(2026, 7, 1, 6, 0, tzinfo=dt.UTC)
SCREENSHOT_DIR_ENV = "REPORT_SCREENSHOT_DIR"


def _write_page(engine: sa.Engine, path: Path) -> Path:
    path.write_text(
        report_html(engine, app_config=AppConfig(), as_of=T, generated_at=GENERATED),
        encoding="utf-8",
    )
    return path


def _cli_docs(engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Any]:
    monkeypatch.delenv("PIPELINES_ETL_CONFIG", raising=False)
    monkeypatch.setenv("PIPELINES_ETL_WAREHOUSE_URL", engine.url.render_as_string(False))

    @cache
    def doc_for(as_of_date: str) -> dict[str, Any]:
        result = CliRunner().invoke(
            app, ["metrics", "--json", "--as-of", as_of_date or "2026-06-30"]
        )
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    return doc_for


def test_console_errors_are_caught_by_the_harness(browser: Any, tmp_path: Path) -> None:
    page = tmp_path / "control.html"
    page.write_text(
        "<!DOCTYPE html><html><body><p>x</p><script>console.error('control-error');"
        "missingFunction();</script></body></html>"
    )
    _dom, messages = browser.dump_dom(page)
    assert any("control-error" in m for m in messages), messages
    assert any("missingFunction" in m for m in messages), messages


def test_rendered_page_has_no_console_messages_and_its_figures_equal_the_json(
    browser: Any,
    full_warehouse: sa.Engine,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    figures_of: Callable[[str], list[dict[str, Any]]],
    figures_match: Callable[..., int],
) -> None:
    page = _write_page(full_warehouse, tmp_path / "report.html")
    dom, messages = browser.dump_dom(page)
    assert messages == []
    figures = figures_of(dom)
    assert len(figures) == len(figures_of(page.read_text()))
    assert figures_match(figures, _cli_docs(full_warehouse, monkeypatch)) > 150
    assert "Pipeline health" in dom and "end of 2026-06-30 (UTC)" in dom


def _pixels_near(image: np.ndarray, color: str, tolerance: int = 10) -> int:
    rgb = np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(image.astype(int) - rgb).max(axis=2) <= tolerance).sum())


def test_screenshot_shows_every_chart_drawn(
    browser: Any, full_warehouse: sa.Engine, tmp_path: Path
) -> None:
    if Image is None:
        message = "pillow is not installed: the screenshot test needs it (pip install pillow)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    page = _write_page(full_warehouse, tmp_path / "report.html")
    out_dir = Path(os.environ.get(SCREENSHOT_DIR_ENV, str(tmp_path)))
    out_dir.mkdir(parents=True, exist_ok=True)
    png = out_dir / "pipeline-report.png"
    messages = browser.screenshot(page, png, width=1200, height=5600)
    assert messages == []
    image = np.asarray(Image.open(png).convert("RGB"))
    assert image.shape[:2] == (5600, 1200)
    non_white = int((image.min(axis=2) < 245).sum())
    assert non_white > 0.05 * image.shape[0] * image.shape[1]
    # each chart's own colour covers its marks; the thresholds are well under the drawn areas
    minimum = {
        "funnel": 3000,  # stage 3's bar alone is 320 x 30 px
        "stage_time": 1500,
        "bottleneck": 1000,
        "open": 800,
        "weighted": 800,
        "commit": 800,
        "overdue": 500,
        "stale": 2000,
        "win_rate": 300,
        "cycle": 300,
        "attainment": 400,
    }
    counts = {name: _pixels_near(image, COLORS[name]) for name in minimum}
    short = {name: n for name, n in counts.items() if n < minimum[name]}
    assert not short, counts


def test_degenerate_warehouse_renders_with_dashes_in_the_browser(
    browser: Any,
    one_owner_warehouse: sa.Engine,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    figures_of: Callable[[str], list[dict[str, Any]]],
    figures_match: Callable[..., int],
) -> None:
    page = _write_page(one_owner_warehouse, tmp_path / "one.html")
    dom, messages = browser.dump_dom(page)
    assert messages == []
    figures = figures_of(dom)
    assert figures_match(figures, _cli_docs(one_owner_warehouse, monkeypatch)) > 50
    dashes = [f for f in figures if f["text"].strip() == "—"]
    assert len(dashes) > 20
    assert {f["data-metric"] for f in dashes} >= {"win_rate", "bottleneck", "time_in_stage"}
