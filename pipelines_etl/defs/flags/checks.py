"""The safety limit as an asset check: fails when a push's new flags would flood a CRM."""

# No `from __future__ import annotations`: Dagster reads these annotations at load time.

import dagster as dg

from pipelines_etl.flags.plan import build_plan, safety_problems
from pipelines_etl.resources import CrmResource, WarehouseResource


@dg.asset_check(
    asset="stale_deals",
    description="New flags per source stay within safety.max_new_flags_share / max_new_flags.",
)
def flag_safety_limit(warehouse: WarehouseResource, crm: CrmResource) -> dg.AssetCheckResult:
    """Fails naming each source whose planned new flags exceed the limit, and how to raise it."""
    names = [source.name for source in crm.sources()]
    with warehouse.engine().connect() as conn:
        plan = build_plan(conn, sources=names)
    problems = safety_problems(plan, crm.app_config().safety)
    new_flags = {name: source.count("set") for name, source in plan.sources.items()}
    return dg.AssetCheckResult(
        passed=not problems,
        description="; ".join(problems) if problems else "new flags within the safety limit",
        metadata={f"new_flags_{name}": dg.MetadataValue.int(n) for name, n in new_flags.items()},
    )
