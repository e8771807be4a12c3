"""The Dagster definitions: they load, and the nightly job materializes against the sandbox."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from connectors.sandbox.server import SandboxServer
from pipelines_etl.definitions import defs
from pipelines_etl.defs.sync.checks import unmapped_stages
from pipelines_etl.resources import WarehouseResource
from warehouse.engine import create_warehouse_engine
from warehouse.migrate import upgrade
from warehouse.schema import deal_snapshots, deal_stage_history, deals, quarantine, sync_runs


def _keys(definitions: dg.Definitions) -> set[str]:
    return {key.to_user_string() for key in definitions.resolve_all_asset_keys()}


def test_definitions_load_without_any_source(clean_env: pytest.MonkeyPatch) -> None:
    loaded = defs()
    assert {"deals", "deal_stage_history", "deal_snapshots"} <= _keys(loaded)
    assert not any(key.startswith("raw_deals_") for key in _keys(loaded))
    schedule = loaded.resolve_schedule_def("nightly_sync_schedule")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.job_name == "nightly_sync"


def test_configured_sources_get_raw_assets_pools_and_schedule(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "pipelines.yaml"
    config.write_text(
        "sources:\n"
        "  salesforce_emea: {type: salesforce, env_prefix: SALESFORCE_EMEA_}\n"
        "  hubspot: {type: hubspot}\n"
        "schedule: {cron: '30 3 * * 1-5', timezone: Europe/Berlin}\n"
    )
    clean_env.setenv("PIPELINES_ETL_CONFIG", str(config))
    loaded = defs()
    assert {"raw_deals_salesforce_emea", "raw_deals_hubspot"} <= _keys(loaded)
    raw = loaded.resolve_assets_def("raw_deals_salesforce_emea")
    assert raw.op.pool == "crm_salesforce_emea"
    schedule = loaded.resolve_schedule_def("nightly_sync_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone) == (
        "30 3 * * 1-5",
        "Europe/Berlin",
    )


def test_nightly_job_materializes_every_deal_from_the_sandbox(
    clean_env: pytest.MonkeyPatch, sandbox: SandboxServer, tmp_path: Path
) -> None:
    for name, value in sandbox.env().items():
        clean_env.setenv(name, value)
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    clean_env.setenv("PIPELINES_ETL_WAREHOUSE_URL", url)
    loaded = defs()
    result = loaded.resolve_job_def("nightly_sync").execute_in_process(
        instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success
    materialized = {
        event.asset_key.to_user_string(): event.step_materialization_data.materialization
        for event in result.get_asset_materialization_events()
    }
    assert {"raw_deals_salesforce", "raw_deals_hubspot", "deals", "deal_snapshots"} <= set(
        materialized
    )
    assert materialized["raw_deals_salesforce"].metadata["deals_read"].value == 300
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["unique_deal_keys"] and checks["stage_numbers_in_range"]
    assert checks["unmapped_stages"] and checks["no_negative_amounts"]
    engine = create_warehouse_engine(url)
    with engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(deals)).scalar_one()
        stays = conn.execute(
            sa.select(sa.func.count()).select_from(deal_stage_history)
        ).scalar_one()
        snapshot = conn.execute(sa.select(sa.func.count()).select_from(deal_snapshots)).scalar_one()
        runs = conn.execute(sa.select(sync_runs.c.source, sync_runs.c.status)).all()
    assert count == 600
    assert materialized["deals"].metadata["row_count"].value == 600
    assert stays > 600
    assert snapshot > 0
    assert sorted(runs) == [("hubspot", "succeeded"), ("salesforce", "succeeded")]


def test_materialize_reports_an_unmapped_stage_by_name(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    clean_env.setenv("PIPELINES_ETL_WAREHOUSE_URL", url)
    engine = create_warehouse_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(quarantine),
            [
                {
                    "source": "salesforce",
                    "kind": "deal",
                    "source_id": f"006{i:015d}",
                    "reason": "unmapped stage 'Discovery Call' in pipeline 'default'",
                    "raw_payload": "{}",
                    "first_seen_at": datetime.now(UTC),
                    "last_seen_at": datetime.now(UTC),
                }
                for i in range(3)
            ],
        )
    evaluation = unmapped_stages(warehouse=WarehouseResource(url=url))
    assert not evaluation.passed
    assert "Discovery Call" in (evaluation.description or "")
    assert "3 deals" in (evaluation.description or "")
    assert evaluation.metadata["quarantined_deals"].value == 3


def test_dg_check_defs_loads_the_project_from_pyproject(clean_env: pytest.MonkeyPatch) -> None:
    """`dg dev` / `dg check defs` read [tool.dg] of pyproject.toml: it must stay loadable."""
    import subprocess
    import sys

    root = Path(__file__).parents[2]
    dg_cli = Path(sys.executable).with_name("dg")
    done = subprocess.run(
        [str(dg_cli), "check", "defs"], cwd=root, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All definitions loaded successfully" in done.stdout + done.stderr
