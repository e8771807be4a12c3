"""`stale_deals` (nightly, no CRM writes) and `flag_writes` (the push, its own job)."""

# No `from __future__ import annotations`: Dagster reads these annotations at load time.

import dagster as dg

from pipelines_etl.defs.sync.definitions import HEALTH_GROUP
from pipelines_etl.defs.sync.metadata import int_metadata, preview
from pipelines_etl.flags.detect import detect_stale_deals
from pipelines_etl.flags.push import SafetyLimitExceeded, push_flags
from pipelines_etl.flags.setup import FlagFieldsMissing
from pipelines_etl.resources import CrmResource, WarehouseResource
from warehouse.schema import stale_deal_flags

FLAGS_GROUP = "flag_push"  # not in the nightly job: pushing is its own job
FLAG_PREVIEW = ["deal_key", "state", "rules", "reason", "flagged_since"]


class PushFlagsConfig(dg.Config):
    """`apply`: write to the CRMs; false (the default) is a dry run."""

    apply: bool = False


@dg.asset(
    name="stale_deals",
    deps=["deals", "deal_stage_history"],
    group_name=HEALTH_GROUP,
    kinds={"pandas", "sql"},
    description=(
        "Open deals the staleness rules flag (stuck in stage, no activity, past close date),"
        " with reason and lifecycle state in `stale_deal_flags`; no CRM writes."
    ),
)
def stale_deals(warehouse: WarehouseResource, crm: CrmResource) -> dg.MaterializeResult:
    """Tonight's detection after the sync, under the warehouse's one-writer lock."""
    with warehouse.writer() as engine:
        result = detect_stale_deals(engine, app_config=crm.app_config())
        with engine.connect() as conn:
            shown = preview(conn, stale_deal_flags, FLAG_PREVIEW)
    counts = {"flagged": result.flagged, "new": result.new, "cleared": result.cleared,
              "dismissed": result.dismissed}  # fmt: skip
    return dg.MaterializeResult(metadata={**int_metadata(counts), "preview": shown})


@dg.asset(
    name="flag_writes",
    deps=["stale_deals"],
    group_name=FLAGS_GROUP,
    kinds={"sql"},
    pool="crm_flag_writes",
    description=(
        "The stale flags pushed to the CRMs (only changed values; a dry run unless `apply`);"
        " every field write recorded in `flag_writes`."
    ),
)
def flag_writes(
    context: dg.AssetExecutionContext,
    config: PushFlagsConfig,
    warehouse: WarehouseResource,
    crm: CrmResource,
) -> dg.MaterializeResult:
    """Plan, and with `apply` write, the flag changes of every configured source."""
    try:
        result = push_flags(
            warehouse.engine(),
            sources=crm.sources(),
            app_config=crm.app_config(),
            env=crm.env(),
            apply=config.apply,
            lock_wait=warehouse.lock_wait_seconds,
        )
    except (SafetyLimitExceeded, FlagFieldsMissing) as error:
        raise dg.Failure(description=str(error)) from None
    totals = {
        "planned": result.plan.total,
        "written": sum(s.written for s in result.sources.values()),
        "failed": sum(s.failed for s in result.sources.values()),
        "skipped": sum(s.skipped for s in result.sources.values()),
    }
    for message in result.safety:
        context.log.warning(message)
    errors = [f"{s.source}: {s.error}" for s in result.sources.values() if s.error]
    if errors:
        raise dg.Failure(description="; ".join(errors))
    return dg.MaterializeResult(
        metadata={**int_metadata(totals), "applied": result.applied, "run": result.run_id}
    )
