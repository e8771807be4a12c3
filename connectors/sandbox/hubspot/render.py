"""Objects as the API shows them: requested properties, history, associations."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from connectors.sandbox.api import Request
from connectors.sandbox.hubspot.catalog import PropertyDef
from connectors.sandbox.hubspot.state import Company, Deal
from connectors.sandbox.hubspot.values import iso_ms

DEFAULT_DEAL_PROPERTIES = (
    "amount",
    "closedate",
    "createdate",
    "dealname",
    "dealstage",
    "hs_lastmodifieddate",
    "hs_object_id",
    "pipeline",
)
ALWAYS_DEAL_PROPERTIES = ("createdate", "hs_lastmodifieddate", "hs_object_id")
DEFAULT_COMPANY_PROPERTIES = ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name")
_V1_ALIASES = (
    ("hs_date_entered_", "hs_v2_date_entered_"),
    ("hs_date_exited_", "hs_v2_date_exited_"),
)


def name_list(values: Iterable[Any]) -> list[str]:
    """Property names from repeated and/or comma-separated values, in order, without duplicates."""
    names: list[str] = []
    for value in values:
        if not isinstance(value, str):
            continue
        for name in value.split(","):
            name = name.strip()
            if name and name not in names:
                names.append(name)
    return names


def query_names(request: Request, key: str) -> list[str]:
    """A list parameter of the query string."""
    return name_list(request.query.get(key, []))


def flag(request: Request, key: str) -> bool:
    """A boolean query parameter (`True`/`true`)."""
    return (request.param(key) or "").strip().lower() == "true"


def deal_value(deal: Deal, name: str) -> str | None:
    """A deal's current value of a property, following the v1 stage-date aliases."""
    value = deal.props.get(name)
    if value is None:
        for old, new in _V1_ALIASES:
            if name.startswith(old):
                return deal.props.get(new + name[len(old) :])
    return value


def deal_history(deal: Deal, name: str) -> list[dict[str, Any]]:
    """A property's history, newest first."""
    if name == "dealstage":
        entries = [(value, ms, source) for value, ms, source in deal.stages]
    elif name in deal.history:
        entries = [(e.value, e.ms, e.source_type) for e in deal.history[name]]
    else:
        value = deal_value(deal, name)
        entries = [
            (value, deal.modified_ms if name == "hs_lastmodifieddate" else _ms(deal), "CRM_UI")
        ]
        if value is None:
            entries = []
    return [
        {
            "value": value if value is not None else "",
            "timestamp": iso_ms(ms),
            "sourceType": source,
            **({"sourceId": "userId:1", "updatedByUserId": 1} if source == "CRM_UI" else {}),
        }
        for value, ms, source in reversed(entries)
    ]


def _ms(deal: Deal) -> int:
    return deal.stages[0][1] if deal.stages else deal.modified_ms


def render_deal(
    deal: Deal,
    *,
    names: list[str],
    catalog: dict[str, PropertyDef],
    history: list[str] | None = None,
    associations: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One deal as SimplePublicObject(WithAssociations)."""
    wanted = names or list(DEFAULT_DEAL_PROPERTIES)
    props = {name: deal_value(deal, name) for name in ALWAYS_DEAL_PROPERTIES}
    for name in wanted:
        if name in catalog:
            props[name] = deal_value(deal, name)
    payload: dict[str, Any] = {
        "id": deal.id,
        "properties": props,
        "createdAt": deal.created_at,
        "updatedAt": deal.props.get("hs_lastmodifieddate"),
        "archived": deal.archived,
    }
    if deal.archived:
        payload["archivedAt"] = deal.archived_at
    if history:
        payload["propertiesWithHistory"] = {
            name: deal_history(deal, name) for name in history if name in catalog
        }
    if associations:
        payload["associations"] = associations
    return payload


def deal_associations(deal: Deal, wanted: list[str]) -> dict[str, Any]:
    """Inline associations (companies only: the sandbox has no other associated objects)."""
    if "companies" in wanted and deal.companies:
        results = []
        for company_id in deal.companies:
            results.append({"id": company_id, "type": "deal_to_company"})
            results.append({"id": company_id, "type": "deal_to_company_unlabeled"})
        return {"companies": {"results": results}}
    return {}


def render_company(company: Company, names: list[str]) -> dict[str, Any]:
    """One company as SimplePublicObject."""
    wanted = names or list(DEFAULT_COMPANY_PROPERTIES)
    props = {
        name: company.props.get(name)
        for name in ("createdate", "hs_lastmodifieddate", "hs_object_id")
    }
    for name in wanted:
        props[name] = company.props.get(name)
    return {
        "id": company.id,
        "properties": props,
        "createdAt": company.created_at,
        "updatedAt": company.updated_at,
        "archived": False,
    }
