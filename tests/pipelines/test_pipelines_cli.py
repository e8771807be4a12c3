"""The command line: the demo end to end, and user mistakes as one line without a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from pipelines_etl.cli import app
from warehouse.engine import create_warehouse_engine
from warehouse.schema import deals, pipeline_metrics, stale_deal_flags, sync_runs

runner = CliRunner()


def test_demo_syncs_both_sandbox_crms_into_the_demo_warehouse(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_env.chdir(tmp_path)
    result = runner.invoke(app, ["demo", "--deals", "150", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "salesforce" in result.output and "hubspot" in result.output
    engine = create_warehouse_engine(f"sqlite:///{tmp_path / 'data' / 'demo.db'}")
    with engine.connect() as conn:
        per_source = dict(
            conn.execute(sa.select(deals.c.source, sa.func.count()).group_by(deals.c.source)).all()
        )
        statuses = set(conn.execute(sa.select(sync_runs.c.status)).scalars())
    assert per_source == {"hubspot": 150, "salesforce": 150}
    assert statuses == {"succeeded"}
    with engine.connect() as conn:
        pushed = conn.execute(
            sa.select(sa.func.count()).where(stale_deal_flags.c.state == "pushed")
        ).scalar_one()
        metrics = conn.execute(
            sa.select(sa.func.count()).select_from(pipeline_metrics)
        ).scalar_one()
    assert pushed > 0
    assert metrics > 0
    assert "fields other than the flag fields: none" in result.output
    report = (tmp_path / "data" / "pipeline-report.html").read_text()
    assert 'data-metric="open_deals"' in report


def test_sync_without_any_source_says_how_to_add_one(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_env.chdir(tmp_path)
    result = runner.invoke(app, ["sync"])
    assert result.exit_code == 1
    assert "no sources" in result.output


def test_invalid_configuration_is_one_line_without_traceback(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "pipelines.yaml"
    config.write_text("safety:\n  max_new_flags_share: 3\n")
    clean_env.setenv("PIPELINES_ETL_CONFIG", str(config))
    clean_env.chdir(tmp_path)
    result = runner.invoke(app, ["sync"])
    assert result.exit_code == 1
    assert "safety.max_new_flags_share = 3" in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_unknown_source_names_the_configured_ones(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "pipelines.yaml"
    config.write_text("sources:\n  hubspot: {type: hubspot}\n")
    clean_env.setenv("PIPELINES_ETL_CONFIG", str(config))
    clean_env.chdir(tmp_path)
    result = runner.invoke(app, ["sync", "--source", "salesforce"])
    assert result.exit_code == 1
    assert "--source salesforce: no such source (configured: hubspot)" in result.output


def test_missing_credentials_name_the_source(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "pipelines.yaml"
    config.write_text("sources:\n  hubspot: {type: hubspot}\n")
    clean_env.setenv("PIPELINES_ETL_CONFIG", str(config))
    clean_env.setenv("PIPELINES_ETL_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    clean_env.chdir(tmp_path)
    result = runner.invoke(app, ["sync"])
    assert result.exit_code == 1
    assert "source hubspot:" in result.output
    assert "HUBSPOT_ACCESS_TOKEN" in result.output
    assert "Traceback" not in result.output
