"""`pipeline_metrics`: every figure of metrics.md computed from the warehouse and stored."""

# No `from __future__ import annotations`: Dagster reads these annotations at load time.

from decimal import Decimal

import dagster as dg

from pipelines_etl.defs.sync.definitions import HEALTH_GROUP
from pipelines_etl.health import compute_health, headline, store_health
from pipelines_etl.quotas import refresh_quotas
from pipelines_etl.resources import CrmResource, WarehouseResource
from transforms.metrics import MetricsResult

METRICS_DEPS = ["deals", "deal_stage_history", "deal_snapshots", "stale_deals"]


def _metadata_value(value: object) -> dg.MetadataValue:
    """A headline figure as Dagster metadata (undefined figures as text 'null')."""
    if value is None:
        return dg.MetadataValue.text("null")
    if isinstance(value, bool):
        return dg.MetadataValue.bool(value)
    if isinstance(value, int):
        return dg.MetadataValue.int(value)
    if isinstance(value, Decimal | float):
        return dg.MetadataValue.float(float(value))
    return dg.MetadataValue.text(str(value))


def headline_markdown(result: MetricsResult) -> str:
    """The headline figures and the open deals per stage as a markdown table."""
    lines = ["| figure | value |", "|---|---|"]
    for name, value in headline(result).items():
        lines.append(f"| {name} | {'null' if value is None else value} |")
    lines += ["", "| stage | open deals | amount | weighted |", "|---|---|---|---|"]
    for stage, bucket in (result.value("stage_distribution") or {}).items():
        lines.append(
            f"| {stage} | {bucket['count']} | {bucket['amount']} | {bucket['weighted_amount']} |"
        )
    return "\n".join(lines)


@dg.asset(
    name="pipeline_metrics",
    deps=METRICS_DEPS,
    group_name=HEALTH_GROUP,
    kinds={"pandas", "sql"},
    description=(
        "Every pipeline health figure (metrics.md) as of the run, per motion and scope:"
        " one `pipeline_metrics` row per run, scope, metric and key."
    ),
)
def pipeline_metrics(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, crm: CrmResource
) -> dg.MaterializeResult:
    """Load the quotas file, compute the metrics as of now, store them under this run's id."""
    app_config = crm.app_config()
    with warehouse.writer() as engine:
        quota_rows = refresh_quotas(engine, app_config)
        result = compute_health(engine, app_config=app_config)
        rows = store_health(
            engine, result, run_id=context.run.run_id, currency=app_config.reporting_currency
        )
    figures = headline(result)
    return dg.MaterializeResult(
        metadata={
            "as_of": result.as_of.isoformat(),
            "row_count": dg.MetadataValue.int(rows),
            "quotas_loaded": _metadata_value(quota_rows),
            **{name: _metadata_value(value) for name, value in figures.items()},
            "summary": dg.MetadataValue.md(headline_markdown(result)),
        }
    )
