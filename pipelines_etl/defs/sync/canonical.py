"""`deals` and `deal_stage_history`: pending raw records of every source, normalized."""

# No `from __future__ import annotations`: Dagster reads these annotations at load time.

from collections.abc import Iterator, Sequence

import dagster as dg

from pipelines_etl.defs.sync.metadata import int_metadata, preview, row_count
from pipelines_etl.defs.sync.progress import LogProgress
from pipelines_etl.resources import CrmResource, WarehouseResource
from pipelines_etl.steps.transform_pool import TransformPool
from pipelines_etl.sync import SourceOutcome, load_phase
from warehouse.runs import latest_run
from warehouse.schema import deal_stage_history, deals

CANONICAL_GROUP = "canonical"
DEAL_PREVIEW = ["deal_key", "name", "stage", "status", "motion", "amount_reporting", "owner_email"]
STAY_PREVIEW = ["deal_key", "stage", "entered_at", "exited_at", "exit_reason", "duration_days"]


def build_canonical_assets(raw_keys: Sequence[dg.AssetKey]) -> dg.AssetsDefinition:
    """The normalize step over every source, after their raw extracts."""

    @dg.multi_asset(
        name="canonical_deals",
        specs=[
            dg.AssetSpec(
                "deals",
                deps=raw_keys,
                group_name=CANONICAL_GROUP,
                kinds={"pandas", "sql"},
                description="One row per deal per source on the canonical seven-stage model.",
            ),
            dg.AssetSpec(
                "deal_stage_history",
                deps=raw_keys,
                group_name=CANONICAL_GROUP,
                kinds={"pandas", "sql"},
                description="One row per stay of a deal in an open canonical stage.",
            ),
        ],
    )
    def canonical_deals(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, crm: CrmResource
    ) -> Iterator[dg.MaterializeResult]:
        app_config = crm.app_config()
        outcomes: list[SourceOutcome] = []
        with warehouse.writer() as engine, TransformPool() as transforms:
            for source in crm.sources():
                with engine.connect() as conn:
                    run = latest_run(conn, source=source.name)
                if run is None or run.status != "succeeded":
                    context.log.warning("%s: no successful extract to load", source.name)
                    continue
                outcome = SourceOutcome(
                    source=source.name,
                    run_id=run.run_id,
                    full=run.mode == "full",
                    status="succeeded",
                )
                outcomes.append(
                    load_phase(
                        engine=engine,
                        source=source,
                        connector=crm.connect(source.name),
                        app_config=app_config,
                        outcome=outcome,
                        progress=LogProgress(context.log),
                        executor=transforms.executor(rows=run.rows_read or 0),
                    )
                )
            with engine.connect() as conn:
                deal_rows = row_count(conn, deals)
                stay_rows = row_count(conn, deal_stage_history)
                deal_preview = preview(conn, deals, DEAL_PREVIEW)
                stay_preview = preview(conn, deal_stage_history, STAY_PREVIEW)
        failed = [o for o in outcomes if not o.ok]
        if failed:
            raise dg.Failure(description="; ".join(f"{o.source}: {o.message}" for o in failed))
        totals = {
            "inserted": sum(o.counts().inserted for o in outcomes),
            "updated": sum(o.counts().updated for o in outcomes),
            "deleted": sum(o.counts().deleted for o in outcomes),
            "quarantined": sum(o.counts().quarantined for o in outcomes),
        }
        messages = [f"{o.source}: {o.message}" for o in outcomes if o.message]
        yield dg.MaterializeResult(
            asset_key="deals",
            metadata={
                "row_count": dg.MetadataValue.int(deal_rows),
                **int_metadata(totals),
                "messages": "\n".join(messages),
                "preview": deal_preview,
            },
        )
        yield dg.MaterializeResult(
            asset_key="deal_stage_history",
            metadata={"row_count": dg.MetadataValue.int(stay_rows), "preview": stay_preview},
        )

    return canonical_deals
