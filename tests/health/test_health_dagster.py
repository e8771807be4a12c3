"""The `pipeline_metrics` asset: in the health group after its upstreams, and materialized on
a temporary warehouse it stores the run's rows and reports the headline in its metadata."""

from __future__ import annotations

import dagster as dg
import pytest
import sqlalchemy as sa

from pipelines_etl.definitions import defs
from pipelines_etl.defs.health.metrics import pipeline_metrics
from pipelines_etl.resources import CrmResource, WarehouseResource
from warehouse.schema import pipeline_metrics as metrics_table


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No CRM credentials, configuration or warehouse URL from the developer's shell."""
    import os

    for name in list(os.environ):
        if name.startswith(("SALESFORCE_", "HUBSPOT_", "PIPELINES_ETL_")):
            monkeypatch.delenv(name)
    return monkeypatch


def test_asset_is_in_the_nightly_job_after_its_upstreams(clean_env) -> None:
    loaded = defs()
    asset = loaded.resolve_assets_def("pipeline_metrics")
    key = dg.AssetKey("pipeline_metrics")
    assert asset.group_names_by_key[key] == "health"
    upstream = {k.to_user_string() for k in asset.asset_deps[key]}
    assert upstream == {"deals", "deal_stage_history", "deal_snapshots", "stale_deals"}
    job = loaded.resolve_job_def("nightly_sync")
    assert key in job.asset_layer.executable_asset_keys


def test_materialize_stores_rows_and_headline(worked_sqlite, clean_env) -> None:
    url = worked_sqlite.url.render_as_string(hide_password=False)
    result = dg.materialize(
        [pipeline_metrics],
        resources={"warehouse": WarehouseResource(url=url), "crm": CrmResource()},
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    [event] = result.get_asset_materialization_events()
    metadata = event.step_materialization_data.materialization.metadata
    assert metadata["open_deals"].value == 2  # C and D are still open today
    assert metadata["open_pipeline_amount"].value == 140.0
    assert metadata["win_rate"].value == "null"  # nothing closed in the last 90 days
    assert "| open_deals | 2 |" in metadata["summary"].value
    with worked_sqlite.connect() as conn:
        run_ids = conn.execute(sa.select(metrics_table.c.run_id).distinct()).scalars().all()
        stored = conn.execute(sa.select(sa.func.count()).select_from(metrics_table)).scalar()
    assert run_ids == [result.run_id]
    assert stored == metadata["row_count"].value > 100
