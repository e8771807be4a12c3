"""`pipelines-etl report`: writes the page and prints its path; mistakes are one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from pipelines_etl.cli import app
from warehouse.engine import create_warehouse_engine
from warehouse.migrate import upgrade

runner = CliRunner()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No configuration file, the working folder a fresh temporary one."""
    monkeypatch.delenv("PIPELINES_ETL_CONFIG", raising=False)
    monkeypatch.delenv("PIPELINES_ETL_WAREHOUSE_URL", raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return monkeypatch


def _use(env: pytest.MonkeyPatch, engine: sa.Engine) -> None:
    env.setenv("PIPELINES_ETL_WAREHOUSE_URL", engine.url.render_as_string(False))


def test_report_writes_the_default_file_and_prints_its_path(
    env: pytest.MonkeyPatch, full_warehouse: sa.Engine
) -> None:
    _use(env, full_warehouse)
    result = runner.invoke(app, ["report", "--as-of", "2026-06-30"])
    assert result.exit_code == 0, result.output
    assert Path(result.stdout.strip()) == Path("data") / "pipeline-report.html"
    html = (Path.cwd() / "data" / "pipeline-report.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "end of 2026-06-30 (UTC)" in html
    assert not list((Path.cwd() / "data").glob(".*.tmp"))  # written atomically


def test_report_out_option(
    env: pytest.MonkeyPatch, one_owner_warehouse: sa.Engine, tmp_path: Path
) -> None:
    _use(env, one_owner_warehouse)
    out = tmp_path / "reports" / "health.html"
    result = runner.invoke(app, ["report", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out)
    assert 'data-metric="open_deals"' in out.read_text(encoding="utf-8")


def test_empty_warehouse_says_to_sync(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    engine = create_warehouse_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    upgrade(engine)
    _use(env, engine)
    result = runner.invoke(app, ["report"])
    assert result.exit_code == 1
    assert result.output.strip() == "error: no deals yet: run pipelines-etl sync"
    assert not (Path.cwd() / "data" / "pipeline-report.html").exists()
    engine.dispose()


def test_missing_warehouse_is_not_created(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    target = tmp_path / "nowhere" / "warehouse.db"
    env.setenv("PIPELINES_ETL_WAREHOUSE_URL", f"sqlite:///{target}")
    result = runner.invoke(app, ["report"])
    assert result.exit_code == 1
    assert "no deals yet: run pipelines-etl sync" in result.output
    assert not target.exists() and not target.parent.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "--as-of", "June"], "--as-of 'June': expected a date"),
        (["report", "--out", "."], "is a folder; name the HTML file to write"),
    ],
)
def test_mistakes_are_one_line(
    env: pytest.MonkeyPatch, full_warehouse: sa.Engine, args: list[str], message: str
) -> None:
    _use(env, full_warehouse)
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_unwritable_target_is_one_line(
    env: pytest.MonkeyPatch, full_warehouse: sa.Engine, tmp_path: Path
) -> None:
    _use(env, full_warehouse)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = runner.invoke(app, ["report", "--out", str(blocker / "sub" / "r.html")])
    assert result.exit_code == 1
    assert "cannot write the report to" in result.output
    assert len(result.output.strip().splitlines()) == 1
