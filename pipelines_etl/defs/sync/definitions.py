"""The sync's assets per configured source, its job, and the nightly schedule."""

from __future__ import annotations

import os

import dagster as dg

from pipelines_etl.config import load_config
from pipelines_etl.defs.sync.canonical import CANONICAL_GROUP, build_canonical_assets
from pipelines_etl.defs.sync.raw_deals import EXTRACT_GROUP, build_raw_deals_asset, raw_deals_key
from pipelines_etl.sources import configured_sources

# Downstream domains (metrics, stale deals) put their nightly assets in this group.
HEALTH_GROUP = "health"

nightly_sync_job = dg.define_asset_job(
    name="nightly_sync",
    selection=dg.AssetSelection.groups(EXTRACT_GROUP, CANONICAL_GROUP, HEALTH_GROUP),
    description="What `pipelines-etl sync` runs: extract, normalize, load, metrics, stale deals.",
)


@dg.definitions
def sync_definitions() -> dg.Definitions:
    """Raw assets for the sources configured now (configuration read when definitions load)."""
    env = dict(os.environ)
    config = load_config(env)
    sources = configured_sources(config, env)
    raw_assets = [build_raw_deals_asset(source) for source in sources]
    schedule = dg.ScheduleDefinition(
        name="nightly_sync_schedule",
        job=nightly_sync_job,
        cron_schedule=config.schedule.cron,
        execution_timezone=config.schedule.timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="The nightly sync; cron and time zone from `schedule` in the configuration.",
    )
    return dg.Definitions(
        assets=[*raw_assets, build_canonical_assets([raw_deals_key(s) for s in sources])],
        jobs=[nightly_sync_job],
        schedules=[schedule],
    )
