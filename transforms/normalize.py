"""Source-neutral deal frames -> canonical deals (canonical-model.md "Deal fields") + quarantine.

Rules applied here:
- status: the stage catalog's is_closed / is_won; for a stage the catalog doesn't know, the
  record's own flags; unknown status counts as open (such a deal only loads when deleted).
- motion: retention when the pipeline or deal type is configured as retention; its open
  stages are 7 and it ends at 7 (won or lost).
- stage_number: open -> the mapped stage; won new business -> 6; lost new business -> the
  highest stage of its stays (history), else NULL (never a guess); deleted deals in an
  unmapped stage -> the stage of their last stay, else NULL.
- probability: 0-1, 4 places half-even; won 1, lost 0.
- closed_at: the exit of the deal's last stay when that stay ended won/lost
  (closed_at_source "history"); else close_date at 00:00 UTC ("close_date"); NULL for open
  (also reopened) deals.
- stage_entered_at: closed deals -> closed_at; open deals -> entry of their last stay when
  that stay is current (still open, or ended by deletion) and in the deal's stage; else NULL.
- amount_reporting: `transforms.currency` (closed deals at the rate on closed_at).
- owner_email: lower case; `owner_email_overrides` maps an owner_id or an email (either case)
  to the email that identifies the person across CRMs.
- Duplicate source ids in one frame: the row with the latest last_modified_at wins (ties:
  the later row).
Quarantine (one row per record, every problem in `reason`, joined by "; "): missing id,
unparseable amount / probability / timestamps / dates, an invalid currency code (not three
letters; a well-formed code without a rate loads with amount_reporting NULL), an open stage
no mapping covers (not for deleted deals). Every other record still normalizes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd

from connectors.base import SOURCE_DEAL_COLUMNS
from transforms.currency import CurrencyRates, convert_to_reporting
from transforms.deal_validation import combine_reasons, parse_deal_columns, quoted
from transforms.dtypes import PROBABILITY, STAGE_NUMBER, TEXT, TIMESTAMP
from transforms.lead_channel import classify_lead_channel
from transforms.retention import RetentionRules, is_retention
from transforms.stage_mapping import lookup_stages
from transforms.stages import (
    MOTION_NEW_BUSINESS,
    MOTION_RETENTION,
    RETENTION_STAGE,
    STAGE_KEYS,
    STATUS_LOST,
    STATUS_OPEN,
    STATUS_WON,
    WON_STAGE,
)
from transforms.value_parsing import as_text, dates_to_timestamps, parse_timestamp

DEAL_COLUMNS: tuple[str, ...] = (
    "deal_key",
    "source",
    "source_type",
    "source_id",
    "name",
    "pipeline",
    "source_stage",
    "stage_number",
    "stage",
    "status",
    "motion",
    "amount",
    "currency",
    "amount_reporting",
    "probability",
    "forecast_category",
    "owner_id",
    "owner_name",
    "owner_email",
    "account_id",
    "account_name",
    "lead_source",
    "lead_channel",
    "deal_type",
    "created_at",
    "close_date",
    "closed_at",
    "closed_at_source",
    "stage_entered_at",
    "last_activity_at",
    "last_modified_at",
    "is_deleted",
    "flag_stale",
    "flag_reason",
    "flag_since",
)
QUARANTINE_COLUMNS: tuple[str, ...] = (
    "raw_index",  # index label of the record in the input frame, to fetch the raw payload
    "source_id",
    "pipeline",
    "source_stage",
    "unmapped_stage",  # bool: one of the reasons is an unmapped stage
    "reason",
)


@dataclass(frozen=True)
class NormalizedDeals:
    """Canonical deals (DEAL_COLUMNS) and the records that could not load (QUARANTINE_COLUMNS)."""

    deals: pd.DataFrame
    quarantine: pd.DataFrame


def normalize_deals(
    *,
    deals: pd.DataFrame,
    source: str,
    source_type: str,
    stage_map: pd.DataFrame,
    owners: pd.DataFrame,
    accounts: pd.DataFrame,
    rates: CurrencyRates,
    retention: RetentionRules,
    default_currency: str,
    lead_channels: Mapping[str, str] | None = None,
    history_stays: pd.DataFrame | None = None,
    owner_email_overrides: Mapping[str, str] | None = None,
) -> NormalizedDeals:
    """Validate and map one source's deals onto the canonical model; bad records to quarantine."""
    missing = [c for c in SOURCE_DEAL_COLUMNS if c not in deals.columns]
    if missing:
        raise ValueError(f"deal frame lacks columns: {', '.join(missing)}")
    deduped = _latest_per_id(deals)
    raw_labels = deduped.index
    frame = deduped.reset_index(drop=True)
    parsed = parse_deal_columns(deals=frame, default_currency=default_currency)
    col = parsed.columns
    index = frame.index

    mapped = lookup_stages(stage_map, pipelines=col["pipeline"], source_stages=col["source_stage"])
    in_catalog = mapped["in_catalog"]
    closed = mapped["is_closed"].where(in_catalog, col["is_closed"])
    won = mapped["is_won"].where(in_catalog, col["is_won"])
    is_closed = closed.fillna(False).astype(bool)
    is_won = is_closed & won.fillna(False).astype(bool)
    is_lost = is_closed & ~is_won
    retention_deal = is_retention(
        pipelines=col["pipeline"], deal_types=col["deal_type"], rules=retention
    )
    known_open = closed.eq(False).fillna(False).astype(bool)
    mapped_open = in_catalog & mapped["stage_number"].notna() & ~is_closed
    stage_ok = is_closed | mapped_open | (retention_deal & known_open)
    unmapped = ~stage_ok & ~col["is_deleted"]
    stage_reason = (
        pd.Series("unmapped stage ", index=index, dtype=TEXT)
        + quoted(col["source_stage"]).fillna("(missing)")
        + " in pipeline "
        + quoted(col["pipeline"]).fillna("(missing)")
    ).where(unmapped.to_numpy())
    reason = combine_reasons([*parsed.reasons, stage_reason], index)
    bad = reason.notna()

    quarantine = pd.DataFrame(
        {
            "raw_index": raw_labels[bad.to_numpy()],
            "source_id": col["source_id"][bad].astype(TEXT).to_numpy(),
            "pipeline": col["pipeline"][bad].to_numpy(),
            "source_stage": col["source_stage"][bad].to_numpy(),
            "unmapped_stage": unmapped[bad].to_numpy(),
            "reason": reason[bad].to_numpy(),
        }
    ).astype({"source_id": TEXT, "pipeline": TEXT, "source_stage": TEXT, "reason": TEXT})

    keep = ~bad.to_numpy()
    col = {name: values[keep] for name, values in col.items()}
    deal_key = (source + ":" + col["source_id"]).astype(TEXT)
    stays = _stay_summary(history_stays, deal_key)
    is_closed, is_won, is_lost = is_closed[keep], is_won[keep], is_lost[keep]
    retention_deal = retention_deal[keep]
    open_number = mapped["stage_number"][keep].where(~is_closed)

    status = np.where(is_won, STATUS_WON, np.where(is_lost, STATUS_LOST, STATUS_OPEN))
    number = open_number.where(open_number.notna(), stays["last_stage"].where(~is_closed))
    number = number.mask(is_lost, stays["highest_stage"])
    number = number.mask(is_won, WON_STAGE)
    number = number.mask(retention_deal, RETENTION_STAGE).astype(STAGE_NUMBER)

    ended_by_close = stays["last_exit_reason"].isin([STATUS_WON, STATUS_LOST])
    from_history = is_closed & ended_by_close & stays["last_exited_at"].notna()
    close_midnight = dates_to_timestamps(col["close_date"])
    closed_at = stays["last_exited_at"].where(from_history, close_midnight)
    closed_at = closed_at.where(is_closed).astype(TIMESTAMP)
    closed_at_source = pd.Series(None, index=closed_at.index, dtype=TEXT)
    closed_at_source = closed_at_source.mask(from_history, "history")
    closed_at_source = closed_at_source.mask(~from_history & closed_at.notna(), "close_date")

    current_stay = (
        stays["last_exited_at"].isna() | stays["last_exit_reason"].eq("deleted")
    ) & stays["last_stage"].eq(number).fillna(False).astype(bool)
    entered = stays["last_entered_at"].where(current_stay & ~is_closed)
    stage_entered_at = entered.where(~is_closed, closed_at).astype(TIMESTAMP)

    probability = col["probability"].where(~is_closed)
    probability = probability.mask(is_won, Decimal(1)).mask(is_lost, Decimal(0)).astype(PROBABILITY)

    amount_reporting = convert_to_reporting(
        amounts=col["amount"], currencies=col["currency"], rates=rates, on=closed_at
    )
    owner_name, owner_email = _owner_columns(col["owner_id"], owners, owner_email_overrides)
    account_names = _lookup_text(accounts, "account_id", "name", col["account_id"])

    result = pd.DataFrame(
        {
            "deal_key": deal_key,
            "source": pd.Series(source, index=deal_key.index, dtype=TEXT),
            "source_type": pd.Series(source_type, index=deal_key.index, dtype=TEXT),
            "source_id": col["source_id"].astype(TEXT),
            "name": col["name"],
            "pipeline": col["pipeline"],
            "source_stage": col["source_stage"],
            "stage_number": number,
            "stage": number.map(STAGE_KEYS).astype(TEXT),
            "status": pd.Series(status, index=deal_key.index, dtype=TEXT),
            "motion": pd.Series(
                np.where(retention_deal, MOTION_RETENTION, MOTION_NEW_BUSINESS),
                index=deal_key.index,
                dtype=TEXT,
            ),
            "amount": col["amount"],
            "currency": col["currency"],
            "amount_reporting": amount_reporting,
            "probability": probability,
            "forecast_category": col["forecast_category"],
            "owner_id": col["owner_id"],
            "owner_name": owner_name,
            "owner_email": owner_email,
            "account_id": col["account_id"],
            "account_name": account_names,
            "lead_source": col["lead_source"],
            "lead_channel": classify_lead_channel(col["lead_source"], lead_channels),
            "deal_type": col["deal_type"],
            "created_at": col["created_at"],
            "close_date": col["close_date"],
            "closed_at": closed_at,
            "closed_at_source": closed_at_source,
            "stage_entered_at": stage_entered_at,
            "last_activity_at": col["last_activity_at"],
            "last_modified_at": col["last_modified_at"],
            "is_deleted": col["is_deleted"].astype(bool),
            "flag_stale": col["flag_stale"],
            "flag_reason": col["flag_reason"],
            "flag_since": col["flag_since"],
        }
    )
    return NormalizedDeals(
        deals=result.reset_index(drop=True), quarantine=quarantine.reset_index(drop=True)
    )


def unmapped_stage_summary(quarantine: pd.DataFrame) -> pd.DataFrame:
    """Quarantined deals per (pipeline, source_stage) left unmapped, most deals first."""
    rows = quarantine[quarantine["unmapped_stage"].astype(bool)]
    summary = (
        rows.groupby(["pipeline", "source_stage"], dropna=False)
        .size()
        .rename("deals")
        .reset_index()
        .sort_values(["deals", "pipeline", "source_stage"], ascending=[False, True, True])
    )
    return summary.astype({"deals": "int64"}).reset_index(drop=True)


def _latest_per_id(deals: pd.DataFrame) -> pd.DataFrame:
    """One row per source id: the latest last_modified_at (ties: the later row); no-id rows kept."""
    ids = as_text(deals["source_id"])
    if not ids.duplicated().where(ids.notna(), False).any():
        return deals
    modified = parse_timestamp(deals["last_modified_at"]).values
    order = pd.DataFrame({"id": ids, "modified": modified, "row": np.arange(len(deals))})
    order = order.sort_values(["modified", "row"], na_position="first", kind="stable")
    dropped = order["id"].notna() & order["id"].duplicated(keep="last")
    keep_rows = np.sort(order.loc[~dropped, "row"].to_numpy())
    return deals.iloc[keep_rows]


def _stay_summary(stays: pd.DataFrame | None, deal_key: pd.Series) -> pd.DataFrame:
    """Per deal: its last stay (stage, entry, exit, reason) and the highest stage of its stays."""
    columns = {
        "last_stage": pd.Series(pd.NA, index=deal_key.index, dtype=STAGE_NUMBER),
        "last_entered_at": pd.Series(pd.NaT, index=deal_key.index, dtype=TIMESTAMP),
        "last_exited_at": pd.Series(pd.NaT, index=deal_key.index, dtype=TIMESTAMP),
        "last_exit_reason": pd.Series(None, index=deal_key.index, dtype=TEXT),
        "highest_stage": pd.Series(pd.NA, index=deal_key.index, dtype=STAGE_NUMBER),
    }
    if stays is None or stays.empty:
        return pd.DataFrame(columns)
    ordered = stays.sort_values(["deal_key", "entered_at"], kind="stable")
    last = ordered.drop_duplicates("deal_key", keep="last").set_index("deal_key")
    highest = ordered.groupby("deal_key")["stage_number"].max()
    keys = deal_key.to_numpy()

    def aligned(values: pd.Series, dtype: str) -> pd.Series:
        """A per-deal-key series realigned to the deals' rows."""
        return values.reindex(keys).set_axis(deal_key.index).astype(dtype)

    columns["last_stage"] = aligned(last["stage_number"], STAGE_NUMBER)
    columns["last_entered_at"] = aligned(last["entered_at"], TIMESTAMP)
    columns["last_exited_at"] = aligned(last["exited_at"], TIMESTAMP)
    columns["last_exit_reason"] = aligned(last["exit_reason"], TEXT)
    columns["highest_stage"] = aligned(highest, STAGE_NUMBER)
    return pd.DataFrame(columns)


def _lookup_text(table: pd.DataFrame, key: str, value: str, keys: pd.Series) -> pd.Series:
    """Map keys through a lookup frame's column (last row per key wins); NaN where absent."""
    if table is None or table.empty:
        return pd.Series(None, index=keys.index, dtype=TEXT)
    lookup = table.drop_duplicates(key, keep="last")
    mapping = pd.Series(as_text(lookup[value]).to_numpy(), index=as_text(lookup[key]).to_numpy())
    return keys.map(mapping).astype(TEXT)


def _owner_columns(
    owner_ids: pd.Series, owners: pd.DataFrame, overrides: Mapping[str, str] | None
) -> tuple[pd.Series, pd.Series]:
    """Owner name and lower-case email per deal, with the email override table applied."""
    names = _lookup_text(owners, "owner_id", "name", owner_ids)
    emails = _lookup_text(owners, "owner_id", "email", owner_ids).str.strip().str.lower()
    if overrides:
        by_id = {str(k): str(v).strip().lower() for k, v in overrides.items()}
        by_email = {str(k).strip().lower(): str(v).strip().lower() for k, v in overrides.items()}
        from_id = owner_ids.map(by_id)
        from_email = emails.map(by_email)
        emails = from_id.fillna(from_email).fillna(emails)
    return names, emails.astype(TEXT)
