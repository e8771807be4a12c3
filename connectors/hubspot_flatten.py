"""HubSpot raw JSON to the source-neutral frames of `connectors.base`. Pure: no network.

Values stay as HubSpot sent them (strings for amounts, probabilities and times); only names
change. Choices, documented:
- probability: `hs_forecast_probability` when set, else `hs_deal_stage_probability`, kept as
  the CRM's decimal text (the normalizer rounds; never a float here).
- account_id: the primary company association (v3 type `deal_to_company`, v4 typeId 5 or
  label "Primary"), else the first company associated.
- lead_source: `hs_analytics_source` (the deal's "Original Source Type", e.g. ORGANIC_SEARCH,
  OFFLINE): HubSpot deals have no lead-source property of their own, and this is the one a
  lead_channel mapping (inbound/outbound) can be written against.
- forecast_category: `hs_manual_forecast_category` (the rep's choice) when set, else
  `hs_forecast_category`, mapped to pipeline / best_case / commit / closed / omitted.
- last_activity_at: the later of `notes_last_updated` and `hs_last_sales_activity_timestamp`.
- stage history: `propertiesWithHistory.dealstage` (every stay, newest first from HubSpot);
  without it, the `hs_v2_date_entered_<stage>` properties, which are LOSSY: they keep only
  the latest entry per stage, so a deal that went back and forth loses its earlier stays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd

from connectors.base import (
    ACCOUNT_COLUMNS,
    HISTORY_COLUMNS,
    OWNER_COLUMNS,
    SOURCE_DEAL_COLUMNS,
    STAGE_COLUMNS,
)
from connectors.hubspot_windows import to_epoch_ms

# Properties a deal sync reads (the flag properties and hs_v2_date_entered_* come on top,
# where the portal has them). hs_forecast_category is not on every portal: requested only
# when the properties API lists it.
DEAL_PROPERTIES: tuple[str, ...] = (
    "dealname",
    "amount",
    "dealstage",
    "pipeline",
    "closedate",
    "createdate",
    "hs_lastmodifieddate",
    "hubspot_owner_id",
    "deal_currency_code",
    "dealtype",
    "hs_is_closed",
    "hs_is_closed_won",
    "hs_deal_stage_probability",
    "hs_forecast_probability",
    "hs_manual_forecast_category",
    "hs_forecast_category",
    "notes_last_updated",
    "hs_last_sales_activity_timestamp",
    "hs_analytics_source",
    "hs_object_id",
)
STAGE_ENTERED_PREFIXES: tuple[str, ...] = ("hs_v2_date_entered_", "hs_date_entered_")
DEFAULT_FLAG_PROPERTIES: Mapping[str, str] = {
    "flag_stale": "pipeline_stale",
    "flag_reason": "pipeline_stale_reason",
    "flag_since": "pipeline_stale_since",
}
FORECAST_CATEGORIES: Mapping[str, str] = {
    "OMIT": "omitted",
    "OMITTED": "omitted",
    "PIPELINE": "pipeline",
    "BEST_CASE": "best_case",
    "BESTCASE": "best_case",
    "COMMIT": "commit",
    "CLOSED": "closed",
}
PRIMARY_COMPANY_TYPES = frozenset({"deal_to_company"})
PRIMARY_COMPANY_TYPE_ID = 5


def _text(value: Any) -> str | None:
    """A property value as text, with empty strings as None (HubSpot clears to "")."""
    if value is None:
        return None
    text = str(value)
    return text if text.strip() else None


def _bool(value: Any) -> bool | None:
    """HubSpot's "true"/"false" property text as a bool; None when unset or unreadable."""
    if isinstance(value, bool):
        return value
    text = (_text(value) or "").lower()
    return {"true": True, "false": False}.get(text)


def _forecast_category(props: Mapping[str, Any]) -> str | None:
    for name in ("hs_manual_forecast_category", "hs_forecast_category"):
        raw = _text(props.get(name))
        if raw is not None:
            return FORECAST_CATEGORIES.get(raw.strip().upper().replace(" ", "_"))
    return None


def _latest_time(*values: Any) -> str | None:
    """The latest of several time texts, as the CRM wrote it (unparseable ones lose)."""
    best: tuple[int, str] | None = None
    for value in values:
        text = _text(value)
        if text is None:
            continue
        ms = to_epoch_ms(text)
        key = (ms if ms is not None else -1, text)
        if best is None or key[0] > best[0]:
            best = key
    return best[1] if best else None


def primary_company_id(payload: Mapping[str, Any]) -> str | None:
    """The deal's primary company id (v3 inline or v4 shape), else the first; None if none."""
    associations = payload.get("associations") or {}
    companies = associations.get("companies") or {}
    results = companies.get("results") if isinstance(companies, Mapping) else companies
    if not isinstance(results, list) or not results:
        return None
    first: str | None = None
    for item in results:
        if not isinstance(item, Mapping):
            continue
        company_id = _text(item.get("id", item.get("toObjectId")))
        if company_id is None:
            continue
        first = first or company_id
        if item.get("type") in PRIMARY_COMPANY_TYPES:
            return company_id
        for kind in item.get("associationTypes") or []:
            if kind.get("typeId") == PRIMARY_COMPANY_TYPE_ID or kind.get("label") == "Primary":
                return company_id
    return first


def deal_stamp(payload: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(source_id, last_modified_at text) of one raw deal payload, as `flatten_deal` has them."""
    props: Mapping[str, Any] = payload.get("properties") or {}
    return (
        _text(payload.get("id")) or _text(props.get("hs_object_id")),
        _text(props.get("hs_lastmodifieddate")) or _text(payload.get("updatedAt")),
    )


def flatten_deal(
    payload: Mapping[str, Any], *, flag_properties: Mapping[str, str] = DEFAULT_FLAG_PROPERTIES
) -> dict[str, Any]:
    """One raw deal payload as a SOURCE_DEAL_COLUMNS row."""
    props: Mapping[str, Any] = payload.get("properties") or {}
    probability = _text(props.get("hs_forecast_probability")) or _text(
        props.get("hs_deal_stage_probability")
    )
    stale_name = flag_properties["flag_stale"]
    source_id, last_modified_at = deal_stamp(payload)
    row = {
        "source_id": source_id,
        "name": _text(props.get("dealname")),
        "pipeline": _text(props.get("pipeline")),
        "source_stage": _text(props.get("dealstage")),
        "amount": _text(props.get("amount")),
        "currency": _text(props.get("deal_currency_code")),
        "probability": probability,
        "forecast_category": _forecast_category(props),
        "owner_id": _text(props.get("hubspot_owner_id")),
        "account_id": primary_company_id(payload),
        "lead_source": _text(props.get("hs_analytics_source")),
        "deal_type": _text(props.get("dealtype")),
        "created_at": _text(props.get("createdate")) or _text(payload.get("createdAt")),
        "close_date": _text(props.get("closedate")),
        "last_activity_at": _latest_time(
            props.get("notes_last_updated"), props.get("hs_last_sales_activity_timestamp")
        ),
        "last_modified_at": last_modified_at,
        "is_deleted": bool(payload.get("archived", False)),
        "is_closed": _bool(props.get("hs_is_closed")),
        "is_won": _bool(props.get("hs_is_closed_won")),
        "flag_stale": _bool(props.get(stale_name)) if stale_name in props else None,
        "flag_reason": _text(props.get(flag_properties["flag_reason"])),
        "flag_since": _text(props.get(flag_properties["flag_since"])),
    }
    return row


def flatten_deals(
    payloads: Sequence[Mapping[str, Any]],
    *,
    flag_properties: Mapping[str, str] = DEFAULT_FLAG_PROPERTIES,
) -> pd.DataFrame:
    """Raw deal payloads to the source-neutral frame (SOURCE_DEAL_COLUMNS), one row each."""
    rows = [flatten_deal(p, flag_properties=flag_properties) for p in payloads]
    frame = pd.DataFrame(rows, columns=list(SOURCE_DEAL_COLUMNS), dtype=object)
    return frame


def history_payload(deal: Mapping[str, Any]) -> dict[str, Any]:
    """The stage-history part of a deal payload: its dealstage history and stage-entry dates."""
    props: Mapping[str, Any] = deal.get("properties") or {}
    entered = {
        k: v for k, v in props.items() if k.startswith(STAGE_ENTERED_PREFIXES) or k == "dealstage"
    }
    history = (deal.get("propertiesWithHistory") or {}).get("dealstage")
    payload: dict[str, Any] = {"id": deal.get("id"), "properties": entered}
    if history is not None:
        payload["propertiesWithHistory"] = {"dealstage": history}
    return payload


def _stage_entries(payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(stage, changed_at) pairs of one deal, in HubSpot's order for the source used."""
    history = (payload.get("propertiesWithHistory") or {}).get("dealstage")
    if isinstance(history, list) and history:
        pairs = [(_text(h.get("value")), _text(h.get("timestamp"))) for h in history]
        return [(s, t) for s, t in reversed(pairs) if s is not None and t is not None]
    props: Mapping[str, Any] = payload.get("properties") or {}
    found: dict[str, str] = {}
    for prefix in STAGE_ENTERED_PREFIXES:  # hs_v2_ wins over the legacy name for a stage
        for name, value in props.items():
            when = _text(value)
            if name.startswith(prefix) and when is not None:
                found.setdefault(name[len(prefix) :], when)
    return list(found.items())


def flatten_history(payloads: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Deal (or history) payloads to HISTORY_COLUMNS: stage changes, oldest first per deal."""
    rows: list[dict[str, Any]] = []
    for payload in payloads:
        deal_id = _text(payload.get("id"))
        if deal_id is None:
            continue
        entries = _stage_entries(payload)
        timed = sorted(
            enumerate(entries),
            key=lambda e: (to_epoch_ms(e[1][1]) or 0, e[0]),
        )
        previous: str | None = None
        for _, (stage, changed_at) in timed:
            if stage == previous:
                continue  # a re-set to the same stage is not a change
            rows.append({"source_id": deal_id, "source_stage": stage, "changed_at": changed_at})
            previous = stage
    return pd.DataFrame(rows, columns=list(HISTORY_COLUMNS), dtype=object)


def _is_one(probability: str | None) -> bool:
    try:
        return probability is not None and Decimal(probability) == 1
    except InvalidOperation:
        return False


def stage_rows(pipelines: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The pipelines API's `results` to STAGE_COLUMNS (won: closed with probability 1)."""
    rows: list[dict[str, Any]] = []
    for pipeline in pipelines:
        for stage in pipeline.get("stages") or []:
            metadata = stage.get("metadata") or {}
            probability = _text(metadata.get("probability"))
            is_closed = _bool(metadata.get("isClosed")) is True
            rows.append(
                {
                    "pipeline": _text(pipeline.get("id")),
                    "pipeline_label": _text(pipeline.get("label")),
                    "stage_id": _text(stage.get("id")),
                    "label": _text(stage.get("label")),
                    "is_closed": is_closed,
                    "is_won": is_closed and _is_one(probability),
                    "probability": probability,
                    "display_order": int(stage.get("displayOrder") or 0),
                    "is_active": not (pipeline.get("archived") or stage.get("archived")),
                }
            )
    return pd.DataFrame(rows, columns=list(STAGE_COLUMNS), dtype=object)


def owner_row(owner: Mapping[str, Any], *, active: bool) -> dict[str, Any]:
    """One owners API result as an OWNER_COLUMNS row (name = first + last)."""
    parts = [_text(owner.get("firstName")), _text(owner.get("lastName"))]
    name = " ".join(p.strip() for p in parts if p) or None
    email = _text(owner.get("email"))
    return {
        "owner_id": _text(owner.get("id")),
        "name": name,
        "email": email,
        "is_active": active and not owner.get("archived", False),
    }


def owner_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """OWNER_COLUMNS frame from owner rows."""
    return pd.DataFrame(list(rows), columns=list(OWNER_COLUMNS), dtype=object)


def account_frame(companies: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Companies API results to ACCOUNT_COLUMNS."""
    rows = []
    for company in companies:
        props: Mapping[str, Any] = company.get("properties") or {}
        rows.append(
            {
                "account_id": _text(company.get("id")),
                "name": _text(props.get("name")),
                "industry": _text(props.get("industry")),
                "country": _text(props.get("country")),
            }
        )
    return pd.DataFrame(rows, columns=list(ACCOUNT_COLUMNS), dtype=object)
