"""Data-quality checks on `deals`, one property each; blocking where bad data must not flow."""

# No `from __future__ import annotations`: Dagster reads these annotations at load time.

import dagster as dg
import sqlalchemy as sa

from pipelines_etl.resources import WarehouseResource
from warehouse.schema import deals, quarantine, stage_catalog, sync_runs

LISTED = 10  # offenders named in a check's description


def _named(rows: list[sa.Row], fmt: str) -> str:
    shown = ", ".join(fmt.format(*row) for row in rows[:LISTED])
    return shown + (f" and {len(rows) - LISTED} more" if len(rows) > LISTED else "")


@dg.asset_check(asset="deals", description="No open deal sits in a source stage no mapping covers.")
def unmapped_stages(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Fails naming each unmapped stage, its pipeline and its deal count (from quarantine)."""
    with warehouse.engine().connect() as conn:
        rows = conn.execute(
            sa.select(quarantine.c.source, quarantine.c.reason, sa.func.count())
            .where(quarantine.c.resolved_at.is_(None), quarantine.c.reason.like("%unmapped stage%"))
            .group_by(quarantine.c.source, quarantine.c.reason)
            .order_by(sa.func.count().desc())
        ).all()
    total = sum(row[2] for row in rows)
    return dg.AssetCheckResult(
        passed=not rows,
        description=_named(rows, "{0}: {1} ({2} deals)") if rows else "every stage is mapped",
        metadata={"quarantined_deals": dg.MetadataValue.int(total)},
    )


@dg.asset_check(asset="deals", blocking=True, description="One row per (source, source_id).")
def unique_deal_keys(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Fails when a CRM record appears twice."""
    with warehouse.engine().connect() as conn:
        rows = conn.execute(
            sa.select(deals.c.source, deals.c.source_id, sa.func.count())
            .group_by(deals.c.source, deals.c.source_id)
            .having(sa.func.count() > 1)
        ).all()
    return dg.AssetCheckResult(
        passed=not rows,
        description=_named(rows, "{0}:{1} ({2} rows)") if rows else "no duplicates",
        metadata={"duplicates": dg.MetadataValue.int(len(rows))},
    )


@dg.asset_check(asset="deals", blocking=True, description="Canonical stage numbers are 1-7.")
def stage_numbers_in_range(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Fails when a stage number lies outside the seven canonical stages."""
    with warehouse.engine().connect() as conn:
        rows = conn.execute(
            sa.select(deals.c.deal_key, deals.c.stage_number).where(
                sa.or_(deals.c.stage_number < 1, deals.c.stage_number > 7)
            )
        ).all()
    return dg.AssetCheckResult(
        passed=not rows,
        description=_named(rows, "{0} (stage {1})") if rows else "all in range",
        metadata={"out_of_range": dg.MetadataValue.int(len(rows))},
    )


@dg.asset_check(asset="deals", blocking=True, description="No deal has a negative amount.")
def no_negative_amounts(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Fails naming deals whose amount is below zero."""
    with warehouse.engine().connect() as conn:
        rows = conn.execute(
            sa.select(deals.c.deal_key, deals.c.amount).where(sa.cast(deals.c.amount, sa.Float) < 0)
        ).all()
    return dg.AssetCheckResult(
        passed=not rows,
        description=_named(rows, "{0} ({1})") if rows else "no negative amounts",
        metadata={"negative": dg.MetadataValue.int(len(rows))},
    )


@dg.asset_check(
    asset="deals", description="Every field that may not be empty has a value on live deals."
)
def required_fields_present(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Fails when status, motion, created_at or last_modified_at is null on a live deal."""
    required = ["status", "motion", "created_at", "last_modified_at", "source_stage"]
    counts = {}
    with warehouse.engine().connect() as conn:
        for name in required:
            counts[name] = conn.execute(
                sa.select(sa.func.count()).where(
                    deals.c[name].is_(None), deals.c.is_deleted.is_(False)
                )
            ).scalar_one()
    missing = {name: n for name, n in counts.items() if n}
    return dg.AssetCheckResult(
        passed=not missing,
        description=", ".join(f"{k}: {v} nulls" for k, v in missing.items()) or "no nulls",
        metadata={f"null_{k}": dg.MetadataValue.int(v) for k, v in counts.items()},
    )


@dg.asset_check(
    asset="deals", description="Every amount converts to the reporting currency (a rate exists)."
)
def amounts_converted(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Warns naming the currencies without a rate and how many live deals they leave out."""
    with warehouse.engine().connect() as conn:
        rows = conn.execute(
            sa.select(deals.c.source, deals.c.currency, sa.func.count())
            .where(
                deals.c.amount.is_not(None),
                deals.c.amount_reporting.is_(None),
                deals.c.is_deleted.is_(False),
            )
            .group_by(deals.c.source, deals.c.currency)
        ).all()
    return dg.AssetCheckResult(
        passed=not rows,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            "no rate for " + _named(rows, "{1} in {0} ({2} deals)") + " (configure `rates`)"
            if rows
            else "all converted"
        ),
    )


@dg.asset_check(
    asset="deals",
    description="A source that had data still returns it (an empty full extract or catalog is"
    " a broken integration, not an empty CRM).",
)
def sources_return_data(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Fails for a source whose last full run read nothing, or whose stage catalog is empty."""
    problems = []
    with warehouse.engine().connect() as conn:
        sources = conn.execute(sa.select(deals.c.source).distinct()).scalars().all()
        for source in sources:
            last_full = conn.execute(
                sa.select(sync_runs.c.rows_read)
                .where(sync_runs.c.source == source, sync_runs.c.mode == "full")
                .where(sync_runs.c.status == "succeeded")
                .order_by(sync_runs.c.started_at.desc())
                .limit(1)
            ).scalar_one_or_none()
            if last_full == 0:
                problems.append(f"{source}: the last full extract read no deals")
            stages = conn.execute(
                sa.select(sa.func.count()).where(stage_catalog.c.source == source)
            ).scalar_one()
            if stages == 0:
                problems.append(f"{source}: the CRM returned no stages")
    return dg.AssetCheckResult(
        passed=not problems, description="; ".join(problems) or "every source returned data"
    )
