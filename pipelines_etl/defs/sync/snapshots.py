"""`deal_snapshots`: the pipeline as it stood on each sync day."""

# No `from __future__ import annotations`: Dagster reads these annotations at load time.

import dagster as dg

from pipelines_etl.defs.sync.canonical import CANONICAL_GROUP
from pipelines_etl.defs.sync.metadata import preview, row_count
from pipelines_etl.resources import WarehouseResource
from pipelines_etl.sync import snapshot_today
from warehouse.schema import deal_snapshots

SNAPSHOT_PREVIEW = ["snapshot_date", "deal_key", "status", "stage", "amount_reporting"]


@dg.asset(
    name="deal_snapshots",
    deps=["deals"],
    group_name=CANONICAL_GROUP,
    kinds={"sql"},
    description=(
        "One row per open deal per day the sync runs, plus the deals closed or deleted since"
        " the previous snapshot: what forecast accuracy is measured against."
    ),
)
def deal_snapshots_asset(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Today's snapshot (UTC date), rewritten when the sync runs twice in a day."""
    with warehouse.writer() as engine:
        today_rows = snapshot_today(engine)
        with engine.connect() as conn:
            total = row_count(conn, deal_snapshots)
            shown = preview(conn, deal_snapshots, SNAPSHOT_PREVIEW)
    return dg.MaterializeResult(
        metadata={
            "today_rows": dg.MetadataValue.int(today_rows),
            "row_count": dg.MetadataValue.int(total),
            "preview": shown,
        }
    )
