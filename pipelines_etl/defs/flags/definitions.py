"""The flag push job and its schedule (off unless `schedule.push_flags_enabled`)."""

from __future__ import annotations

import os

import dagster as dg

from pipelines_etl.config import load_config
from pipelines_etl.defs.flags.assets import FLAGS_GROUP

push_stale_flags = dg.define_asset_job(
    name="push_stale_flags",
    selection=dg.AssetSelection.groups(FLAGS_GROUP),
    description="Push the stale flags to the CRMs: a dry run unless the config says apply.",
)


@dg.definitions
def flag_definitions() -> dg.Definitions:
    """The push job, scheduled by `schedule.push_flags_cron`; applies when enabled."""
    config = load_config(dict(os.environ))
    enabled = config.schedule.push_flags_enabled
    schedule = dg.ScheduleDefinition(
        name="push_stale_flags_schedule",
        job=push_stale_flags,
        cron_schedule=config.schedule.push_flags_cron,
        execution_timezone=config.schedule.timezone,
        run_config={"ops": {"flag_writes": {"config": {"apply": enabled}}}},
        default_status=(
            dg.DefaultScheduleStatus.RUNNING if enabled else dg.DefaultScheduleStatus.STOPPED
        ),
        description="Pushes the stale flags; off by default (schedule.push_flags_enabled).",
    )
    return dg.Definitions(jobs=[push_stale_flags], schedules=[schedule])
