"""Read endpoints: deals (list, get, batch read), companies, owners, pipelines, properties."""

from __future__ import annotations

from typing import Any

from connectors.sandbox.api import Request, Response
from connectors.sandbox.hubspot import errors
from connectors.sandbox.hubspot.catalog import PORTAL_CREATED_AT
from connectors.sandbox.hubspot.render import (
    deal_associations,
    flag,
    name_list,
    query_names,
    render_company,
    render_deal,
)
from connectors.sandbox.hubspot.state import HubSpotState, page_after
from connectors.sandbox.hubspot.values import iso_ms, now_ms

MAX_PAGE, MAX_PAGE_WITH_HISTORY, MAX_BATCH, MAX_OWNERS = 100, 50, 100, 500
MAX_BATCH_WITH_HISTORY = 50
# The real 400 for a batch read of more than 50 inputs with propertiesWithHistory.
HISTORY_BATCH_MESSAGE = (
    "The maximum number of inputs supported in a batch request for property histories is 50. "
    "Please reduce the number of items and try again"
)
COMPANY_PROPERTIES = frozenset(
    {
        "name",
        "domain",
        "industry",
        "country",
        "city",
        "phone",
        "createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
        "numberofemployees",
        "annualrevenue",
        "hubspot_owner_id",
    }
)


class BadRequest(ValueError):
    """A parameter the real API refuses with 400."""


def _limit(request: Request, *, default: int, maximum: int) -> int:
    raw = request.param("limit")
    try:
        limit = int(raw) if raw not in (None, "") else default
    except ValueError:
        raise BadRequest(f"limit must be an integer, got {raw!r}") from None
    if not 1 <= limit <= maximum:
        raise BadRequest(f"limit must be between 1 and {maximum}, got {limit}")
    return limit


def _after(request: Request) -> int | None:
    raw = request.param("after")
    if raw in (None, ""):
        return None
    if not raw.isdigit():
        raise BadRequest(f"after must be a numeric cursor, got {raw!r}")
    return int(raw)


def _next(request: Request, path: str, after: int | None, extra: dict[str, Any]) -> dict[str, Any]:
    if after is None:
        return extra
    host = request.headers.get("host", "127.0.0.1")
    return {
        **extra,
        "paging": {"next": {"after": str(after), "link": f"https://{host}{path}?after={after}"}},
    }


def list_deals(state: HubSpotState, request: Request) -> Response:
    """`GET /crm/v3/objects/deals`."""
    history = query_names(request, "propertiesWithHistory")
    try:
        limit = _limit(request, default=10, maximum=MAX_PAGE_WITH_HISTORY if history else MAX_PAGE)
        after = _after(request)
    except BadRequest as problem:
        return errors.validation(str(problem))
    archived = flag(request, "archived")
    names = query_names(request, "properties")
    wanted_assoc = query_names(request, "associations")
    ids, next_after = page_after(
        state.archived_ids if archived else state.active_ids, after=after, limit=limit
    )
    results = []
    for deal_id in ids:
        deal = state.deals[str(deal_id)]
        results.append(
            render_deal(
                deal,
                names=names,
                catalog=state.properties,
                history=history,
                associations=deal_associations(deal, wanted_assoc),
            )
        )
    return Response.json(200, _next(request, request.path, next_after, {"results": results}))


def get_deal(state: HubSpotState, request: Request, deal_id: str) -> Response:
    """`GET /crm/v3/objects/deals/{id}`."""
    deal = state.live_deal(deal_id, archived=flag(request, "archived"))
    if deal is None:
        return errors.not_found_object(deal_id)
    return Response.json(
        200,
        render_deal(
            deal,
            names=query_names(request, "properties"),
            catalog=state.properties,
            history=query_names(request, "propertiesWithHistory"),
            associations=deal_associations(deal, query_names(request, "associations")),
        ),
    )


def batch_read_deals(state: HubSpotState, request: Request) -> Response:
    """`POST /crm/v3/objects/deals/batch/read`: 207 with OBJECT_NOT_FOUND for missing ids."""
    started = iso_ms(now_ms())
    body = _json(request)
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list):
        return errors.validation("Invalid input JSON: inputs must be a list")
    history = name_list(body.get("propertiesWithHistory") or [])
    if history and len(inputs) > MAX_BATCH_WITH_HISTORY:
        return errors.validation(HISTORY_BATCH_MESSAGE)
    if len(inputs) > MAX_BATCH:
        return errors.validation(f"Too many inputs: {len(inputs)} (the limit is {MAX_BATCH})")
    id_property = body.get("idProperty")
    if id_property not in (None, "", "hs_object_id"):
        return errors.validation(f"Property {id_property!r} is not a unique identifier property")
    archived = flag(request, "archived")
    names = name_list(body.get("properties") or [])
    results, missing = [], []
    for item in inputs:
        deal_id = str(item.get("id", "")) if isinstance(item, dict) else ""
        deal = state.live_deal(deal_id, archived=archived)
        if deal is None:
            missing.append(deal_id)
        else:
            results.append(
                render_deal(deal, names=names, catalog=state.properties, history=history)
            )
    payload: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": started,
        "completedAt": iso_ms(now_ms()),
    }
    if not missing:
        return Response.json(200, payload)
    payload["numErrors"] = 1
    payload["errors"] = [
        {
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "message": "Could not get some DEAL objects, they may be deleted or not exist. "
            "Check that ids are valid.",
            "context": {"ids": missing},
        }
    ]
    return Response.json(207, payload)


def list_companies(state: HubSpotState, request: Request) -> Response:
    """`GET /crm/v3/objects/companies`."""
    try:
        limit = _limit(request, default=10, maximum=MAX_PAGE)
        after = _after(request)
    except BadRequest as problem:
        return errors.validation(str(problem))
    if flag(request, "archived"):
        return Response.json(200, {"results": []})
    names = [n for n in query_names(request, "properties") if n in COMPANY_PROPERTIES]
    ids, next_after = page_after(state.company_ids, after=after, limit=limit)
    results = [render_company(state.companies[str(i)], names) for i in ids]
    return Response.json(200, _next(request, request.path, next_after, {"results": results}))


def batch_read_companies(state: HubSpotState, request: Request) -> Response:
    """`POST /crm/v3/objects/companies/batch/read`."""
    body = _json(request)
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list) or len(inputs) > MAX_BATCH:
        return errors.validation(f"inputs must be a list of at most {MAX_BATCH}")
    names = [n for n in name_list(body.get("properties") or []) if n in COMPANY_PROPERTIES]
    found = [state.companies.get(str(i.get("id", ""))) for i in inputs if isinstance(i, dict)]
    missing = [
        str(i.get("id", ""))
        for i in inputs
        if isinstance(i, dict) and str(i.get("id", "")) not in state.companies
    ]
    payload: dict[str, Any] = {
        "status": "COMPLETE",
        "startedAt": iso_ms(now_ms()),
        "completedAt": iso_ms(now_ms()),
        "results": [render_company(c, names) for c in found if c],
    }
    if missing:
        payload["numErrors"] = 1
        payload["errors"] = [
            {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "message": "Could not get some COMPANY objects, they may be deleted "
                "or not exist. Check that ids are valid.",
                "context": {"ids": missing},
            }
        ]
        return Response.json(207, payload)
    return Response.json(200, payload)


def list_owners(state: HubSpotState, request: Request) -> Response:
    """`GET /crm/v3/owners/` (offset cursor; limit up to 500; email filter)."""
    try:
        limit = _limit(request, default=100, maximum=MAX_OWNERS)
        after = _after(request) or 0
    except BadRequest as problem:
        return errors.validation(str(problem))
    archived = flag(request, "archived")
    email = (request.param("email") or "").lower()
    owners = [
        o
        for o in state.owners
        if o["archived"] == archived and (not email or o["email"].lower() == email)
    ]
    page = owners[after : after + limit]
    next_after = after + limit if after + limit < len(owners) else None
    return Response.json(200, _next(request, request.path, next_after, {"results": page}))


def _pipeline_json(pipeline: dict[str, Any]) -> dict[str, Any]:
    stamps = {"createdAt": PORTAL_CREATED_AT, "updatedAt": PORTAL_CREATED_AT, "archived": False}
    stages = [
        {
            **stage,
            "metadata": dict(stage["metadata"]),
            "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
            **stamps,
        }
        for stage in pipeline["stages"]
    ]
    return {
        "id": pipeline["id"],
        "label": pipeline["label"],
        "displayOrder": pipeline["displayOrder"],
        "stages": stages,
        **stamps,
    }


def pipelines(state: HubSpotState, pipeline_id: str | None) -> Response:
    """`GET /crm/v3/pipelines/deals[/{id}]`."""
    if pipeline_id is None:
        return Response.json(200, {"results": [_pipeline_json(p) for p in state.pipelines]})
    for pipeline in state.pipelines:
        if pipeline["id"] == pipeline_id:
            return Response.json(200, _pipeline_json(pipeline))
    return errors.error(404, f"Unable to find pipeline {pipeline_id}", "OBJECT_NOT_FOUND")


def properties(state: HubSpotState, name: str | None) -> Response:
    """`GET /crm/v3/properties/deals[/{name}]`."""
    if name is None:
        return Response.json(200, {"results": [p.to_json() for p in state.properties.values()]})
    prop = state.properties.get(name)
    if prop is None:
        return errors.error(
            404, f"Unable to find property {name} for object type 0-3", "OBJECT_NOT_FOUND"
        )
    return Response.json(200, prop.to_json())


def _json(request: Request) -> Any:
    try:
        return request.json()
    except ValueError:
        return None


def batch_read_deal_companies(state: HubSpotState, request: Request) -> Response:
    """`POST /crm/v4/associations/deals/companies/batch/read`: each deal's companies with
    their association types (Primary = typeId 5); 207 naming deals that have none."""
    body = _json(request)
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list) or len(inputs) > MAX_BATCH:
        return errors.validation(f"inputs must be a list of at most {MAX_BATCH}")
    results, missing = [], []
    for item in inputs:
        deal_id = str(item.get("id", "")) if isinstance(item, dict) else ""
        deal = state.live_deal(deal_id)
        if deal is None or not deal.companies:
            missing.append(deal_id)
            continue
        to = []
        for company_id in deal.companies:
            to.append(
                {
                    "toObjectId": int(company_id),
                    "associationTypes": [
                        {"category": "HUBSPOT_DEFINED", "typeId": 5, "label": "Primary"},
                        {"category": "HUBSPOT_DEFINED", "typeId": 341, "label": None},
                    ],
                }
            )
        results.append({"from": {"id": deal_id}, "to": to})
    payload: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": iso_ms(now_ms()),
        "completedAt": iso_ms(now_ms()),
    }
    if not missing:
        return Response.json(200, payload)
    payload["numErrors"] = len(missing)
    payload["errors"] = [
        {
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
            "message": f"No company is associated with deal {deal_id}.",
            "context": {"fromObjectId": [deal_id]},
        }
        for deal_id in missing
    ]
    return Response.json(207, payload)
