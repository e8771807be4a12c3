"""Normalize: pending raw deals of one source onto the canonical model, batch by batch.

Pending means new, changed, or quarantined before: quarantined records stay pending, so a
fixed mapping repairs them on the next run without a re-extract. Each batch's deals, stays,
quarantine rows and raw marks commit together.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from types import ModuleType

import pandas as pd
import sqlalchemy as sa

from connectors.base import RATE_COLUMNS, CrmConnector
from pipelines_etl.config import AppConfig, SourceConfig
from pipelines_etl.steps.normalize_batch import NormalizedBatch, NormalizeSpec, RawBatch
from pipelines_etl.steps.transform_pool import BatchTransforms
from transforms.currency import CurrencyRates
from transforms.retention import RetentionRules
from transforms.stage_mapping import StageMappingRule, build_stage_map
from warehouse.deals_load import (
    deleted_keys,
    mark_needs_attention,
    quarantine_records,
    raw_history_payloads,
    replace_stay_frame,
    resolve_quarantine,
    upsert_deal_frame,
)
from warehouse.frames import frame_columns, frame_to_rows
from warehouse.raw import mark_normalized, pending_raw_batch
from warehouse.reference import read_source_frame, replace_stage_mappings
from warehouse.schema import accounts, currency_rates, owners, stage_catalog
from warehouse.schema import owner_email_overrides as owner_email_overrides_table

BATCH_SIZE = 5_000
MAPPING_ORIGIN = {
    "override": "config",
    "default": "default",
    "closed": "closed",
    "unmapped": "unmapped",
}
BatchCallback = Callable[[int], None]


@dataclass
class NormalizeResult:
    """What one normalize pass wrote."""

    normalized: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    quarantined: int = 0
    unmapped_stages: Counter[tuple[str, str]] = field(default_factory=Counter)

    def unmapped_message(self) -> str | None:
        """One line naming each unmapped stage, its pipeline and how many deals it holds."""
        if not self.unmapped_stages:
            return None
        parts = [
            f"'{stage}' in pipeline '{pipeline}' ({count} deals)"
            for (pipeline, stage), count in self.unmapped_stages.most_common()
        ]
        return "unmapped stages: " + ", ".join(parts) + " (add them to stage_mappings)"


def _retention(source_config: SourceConfig, module: ModuleType) -> RetentionRules:
    configured = source_config.retention
    return RetentionRules.of(
        pipelines=configured.pipelines
        if configured.pipelines is not None
        else module.DEFAULT_RETENTION_PIPELINES,
        deal_types=configured.deal_types
        if configured.deal_types is not None
        else module.DEFAULT_RETENTION_DEAL_TYPES,
    )


def crm_rates(conn: sa.Connection, *, source: str) -> pd.DataFrame:
    """The source's own CRM rates; for a CRM without any (HubSpot), another source's.

    A company has one set of rates: a HubSpot portal beside a multi-currency Salesforce org
    converts with the org's CurrencyType unless `rates` are configured.
    """
    own = read_source_frame(conn, currency_rates, source=source)
    own = own[own["origin"] == "crm"]
    if not own.empty:
        return own[list(RATE_COLUMNS)]
    others = conn.execute(
        sa.select(currency_rates.c.source)
        .where(currency_rates.c.origin == "crm", currency_rates.c.source != source)
        .order_by(currency_rates.c.source)
        .limit(1)
    ).scalar_one_or_none()
    if others is None:
        return own[list(RATE_COLUMNS)]
    borrowed = read_source_frame(conn, currency_rates, source=others)
    return borrowed[borrowed["origin"] == "crm"][list(RATE_COLUMNS)]


def owner_email_overrides(
    conn: sa.Connection, *, source: str, app_config: AppConfig
) -> dict[str, str]:
    """owner_id -> the email that identifies the person across CRMs, for one source.

    From the `owner_email_overrides` table (analysts maintain it with SQL) and the
    configuration's `owner_emails` ("source:owner_id" keys), the configuration winning.
    """
    table = owner_email_overrides_table
    rows = conn.execute(
        sa.select(table.c.owner_id, table.c.email).where(table.c.source == source)
    ).all()
    prefix = f"{source}:"
    configured = {
        key[len(prefix) :]: email
        for key, email in app_config.owner_emails.items()
        if key.startswith(prefix)
    }
    return {**{owner_id: email for owner_id, email in rows}, **configured}


def build_spec(
    *,
    conn: sa.Connection,
    connector: CrmConnector,
    source_config: SourceConfig,
    module: ModuleType,
    app_config: AppConfig,
) -> NormalizeSpec:
    """Read the source's reference data and build the (picklable) recipe its batches are
    normalized with: stage mapping, retention rules, rates, owners, accounts."""
    source = connector.source
    catalog = read_source_frame(conn, stage_catalog, source=source)
    rules = [
        StageMappingRule(rule.pipeline, rule.source_stage, rule.stage)
        for rule in source_config.stage_mappings
    ]
    stage_map = build_stage_map(
        catalog=catalog, defaults=module.DEFAULT_STAGE_MAPPING, overrides=rules
    )
    rates = CurrencyRates.build(
        reporting_currency=app_config.reporting_currency,
        configured=app_config.rates,
        rate_frame=crm_rates(conn, source=source),
    )
    return NormalizeSpec(
        source=source,
        source_type=connector.source_type,
        flattener=connector.flattener(),
        stage_map=stage_map,
        retention=_retention(source_config, module),
        rates=rates,
        owners=read_source_frame(conn, owners, source=source),
        accounts=read_source_frame(conn, accounts, source=source),
        owner_email_overrides=owner_email_overrides(conn, source=source, app_config=app_config),
        default_currency=source_config.default_currency,
        lead_channels=dict(app_config.lead_channels),
    )


def mapping_rows(stage_map: pd.DataFrame) -> list[dict[str, object]]:
    """The applied stage mapping as `stage_mappings` rows."""
    rows = frame_to_rows(stage_map[["pipeline", "source_stage", "stage_number", "stage", "origin"]])
    for row in rows:
        row["origin"] = MAPPING_ORIGIN[str(row["origin"])]
    return rows


def normalize_source(
    *,
    engine: sa.Engine,
    connector: CrmConnector,
    source_config: SourceConfig,
    module: ModuleType,
    app_config: AppConfig,
    run_id: str,
    batch_size: int | None = None,
    on_batch: BatchCallback | None = None,
    executor: Executor | None = None,
) -> NormalizeResult:
    """Normalize every pending raw deal of the connector's source into `deals` and stays.

    With an `executor` (a worker process, see `transform_pool`), batch N+1 is parsed and
    normalized there while batch N is written here; without one, in this process.
    """
    source = connector.source
    batch_size = batch_size or BATCH_SIZE
    with engine.begin() as conn:
        spec = build_spec(
            conn=conn,
            connector=connector,
            source_config=source_config,
            module=module,
            app_config=app_config,
        )
        replace_stage_mappings(conn, source=source, rows=mapping_rows(spec.stage_map))
    transforms = BatchTransforms(executor)
    result = NormalizeResult()
    in_flight: deque[tuple[RawBatch, Future[NormalizedBatch]]] = deque()
    after: str | None = None
    exhausted = False
    while True:
        if not exhausted:
            raw = _read_batch(engine, source=source, batch_size=batch_size, after=after)
            if raw is None:
                exhausted = True
            else:
                in_flight.append((raw, transforms.submit(spec, raw)))
                after = raw.source_ids[-1]
        if not in_flight:
            return result
        if exhausted or len(in_flight) > 1:
            raw, future = in_flight.popleft()
            _write_batch(
                engine,
                source=source,
                run_id=run_id,
                batch=transforms.result(spec, raw, future),
                result=result,
            )
            if on_batch is not None:
                on_batch(len(raw.source_ids))


def _read_batch(
    engine: sa.Engine, *, source: str, batch_size: int, after: str | None
) -> RawBatch | None:
    """The next pending raw deals after `after` and their history, or None when none is left.

    Read in a short transaction of its own: a reader held open across batches would keep
    SQLite from checkpointing its write-ahead log.
    """
    with engine.connect() as reader:
        rows = pending_raw_batch(reader, source, batch_size, after=after)
        if not rows:
            return None
        ids = [row.source_id for row in rows]
        history = raw_history_payloads(reader, source=source, source_ids=ids)
    return RawBatch(source_ids=ids, payloads=[row.payload for row in rows], history=history)


def _write_batch(
    engine: sa.Engine,
    *,
    source: str,
    run_id: str,
    batch: NormalizedBatch,
    result: NormalizeResult,
) -> None:
    """One batch's deals, stays, quarantine rows and raw marks, in one transaction."""
    deal_keys = [str(key) for key in batch.deals["deal_key"].tolist()]
    is_deleted = frame_columns(batch.deals[["is_deleted"]])["is_deleted"]
    good_keys = [f"{source}:{source_id}" for source_id in batch.good_ids]
    bad_rows = batch.quarantined
    with engine.begin() as conn:
        already_deleted = deleted_keys(conn, deal_keys)
        counts = upsert_deal_frame(conn, batch.deals)
        replace_stay_frame(conn, deal_keys=good_keys, frame=batch.stays)
        quarantine_records(conn, source=source, kind="deal", rows=bad_rows, run_id=run_id)
        resolve_quarantine(conn, source=source, kind="deal", source_ids=batch.good_ids)
        mark_needs_attention(
            conn, {f"{source}:{row['source_id']}": row["reason"] for row in bad_rows}
        )
        mark_normalized(conn, source=source, source_ids=batch.good_ids)
    result.unmapped_stages.update(batch.unmapped_stages)
    result.normalized += len(deal_keys)
    result.inserted += counts.inserted
    result.updated += counts.updated
    result.unchanged += counts.unchanged
    result.quarantined += len(bad_rows)
    result.deleted += sum(
        1
        for key, deleted in zip(deal_keys, is_deleted, strict=True)
        if deleted and key not in already_deleted
    )
