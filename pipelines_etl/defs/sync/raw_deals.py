"""One raw-extract asset per configured source: CRM pages into the raw tables."""

# No `from __future__ import annotations`: Dagster reads these annotations at load time.

import dagster as dg

from pipelines_etl.defs.sync.progress import LogProgress
from pipelines_etl.resources import CrmResource, WarehouseResource
from pipelines_etl.sources import Source
from pipelines_etl.sync import extract_phase

EXTRACT_GROUP = "extract"


class ExtractConfig(dg.Config):
    """`full` re-extracts everything (and reconciles deletions) instead of an increment."""

    full: bool = False


def raw_deals_key(source: Source) -> dg.AssetKey:
    """The asset key of a source's raw extract, e.g. `raw_deals_salesforce`."""
    return dg.AssetKey(f"raw_deals_{source.name}")


def build_raw_deals_asset(source: Source) -> dg.AssetsDefinition:
    """The raw extract of one source, in the source's own concurrency pool."""

    @dg.asset(
        key=raw_deals_key(source),
        group_name=EXTRACT_GROUP,
        kinds={source.source_type, "python"},
        pool=f"crm_{source.name}",
        description=(
            f"Raw deal payloads and stage history of `{source.name}` ({source.source_type}),"
            " extracted incrementally; the cursor commits with the rows it covers."
        ),
    )
    def raw_deals(
        context: dg.AssetExecutionContext,
        config: ExtractConfig,
        warehouse: WarehouseResource,
        crm: CrmResource,
    ) -> dg.MaterializeResult:
        connector = crm.connect(source.name)
        with warehouse.writer() as engine:
            outcome = extract_phase(
                engine=engine,
                source=crm.source(source.name),
                connector=connector,
                app_config=crm.app_config(),
                full=config.full,
                progress=LogProgress(context.log),
            )
        if not outcome.ok or outcome.extract is None:
            raise dg.Failure(
                description=f"{source.name}: {outcome.message}",
                metadata={"run_id": outcome.run_id},
            )
        extract = outcome.extract
        return dg.MaterializeResult(
            metadata={
                "run_id": outcome.run_id,
                "mode": "full" if config.full else "incremental",
                "deals_read": dg.MetadataValue.int(extract.deals_read),
                "history_rows_read": dg.MetadataValue.int(extract.history_read),
                "pages": dg.MetadataValue.int(extract.pages),
                "api_calls": dg.MetadataValue.int(outcome.api_calls),
                "cursor_before": extract.cursor_before or "",
                "cursor_after": extract.cursor_after or "",
                **{f"reference_{k}": dg.MetadataValue.int(v) for k, v in outcome.reference.items()},
            }
        )

    return raw_deals
