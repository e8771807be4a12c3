"""The pure half of normalizing one batch: raw JSON texts in, canonical frames out.

Everything here is picklable (inputs, the function, its result), so the sync can run it in a
worker process while the main process writes the previous batch: the two halves take turns
on one core otherwise. Nothing here touches the network or the warehouse.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from connectors.base import Flattener
from pipelines_etl.steps import raw_json
from transforms.currency import CurrencyRates
from transforms.normalize import normalize_deals
from transforms.retention import RetentionRules
from transforms.stage_history import build_stays


@dataclass(frozen=True)
class NormalizeSpec:
    """What one source's batches are normalized with (built once per source)."""

    source: str
    source_type: str
    flattener: Flattener
    stage_map: pd.DataFrame
    retention: RetentionRules
    rates: CurrencyRates
    owners: pd.DataFrame
    accounts: pd.DataFrame
    owner_email_overrides: Mapping[str, str]
    default_currency: str
    lead_channels: Mapping[str, str]


@dataclass(frozen=True)
class RawBatch:
    """One batch of pending raw deals (ids and JSON texts, by id) and their history texts."""

    source_ids: list[str]
    payloads: list[str]
    history: list[str]


@dataclass(frozen=True)
class NormalizedBatch:
    """What one batch writes: canonical deals, stays of the loaded deals, quarantine rows."""

    deals: pd.DataFrame
    stays: pd.DataFrame
    quarantined: list[dict[str, str]]
    good_ids: list[str]
    unmapped_stages: Counter[tuple[str, str]]


def normalize_batch(spec: NormalizeSpec, batch: RawBatch) -> NormalizedBatch:
    """Parse, flatten and normalize one batch; records that cannot load become quarantine rows."""
    flat = spec.flattener.deals(raw_json.loads_many(batch.payloads))
    history = spec.flattener.history(raw_json.loads_text_values(batch.history))
    stays = build_stays(
        history=history,
        deals=flat,
        stage_map=spec.stage_map,
        retention=spec.retention,
        source=spec.source,
    )
    normalized = normalize_deals(
        deals=flat,
        source=spec.source,
        source_type=spec.source_type,
        stage_map=spec.stage_map,
        owners=spec.owners,
        accounts=spec.accounts,
        rates=spec.rates,
        retention=spec.retention,
        default_currency=spec.default_currency,
        lead_channels=spec.lead_channels,
        history_stays=stays,
        owner_email_overrides=spec.owner_email_overrides,
    )
    bad = normalized.quarantine
    quarantined = [
        {
            "source_id": str(source_id),
            "reason": str(reason),
            "raw_payload": batch.payloads[int(label)],
        }
        for label, source_id, reason in zip(
            bad["raw_index"], bad["source_id"], bad["reason"], strict=True
        )
    ]
    unmapped: Counter[tuple[str, str]] = Counter()
    for pipeline, stage, is_unmapped in zip(
        bad["pipeline"], bad["source_stage"], bad["unmapped_stage"], strict=True
    ):
        if is_unmapped:
            unmapped[(str(pipeline), str(stage))] += 1
    bad_ids = {row["source_id"] for row in quarantined}
    good_ids = [source_id for source_id in batch.source_ids if source_id not in bad_ids]
    if quarantined:
        good_keys = [f"{spec.source}:{source_id}" for source_id in good_ids]
        stays = stays[stays["deal_key"].isin(good_keys)]
    return NormalizedBatch(
        deals=normalized.deals.assign(needs_attention=False, quarantine_reason=None),
        stays=stays.assign(source=spec.source),
        quarantined=quarantined,
        good_ids=good_ids,
        unmapped_stages=unmapped,
    )


def warm_up() -> None:
    """Nothing: a worker process that runs it has imported this module and its pandas stack."""
