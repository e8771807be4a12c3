"""Writes: deal batch update (validate everything, then apply) and deal property create."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from connectors.sandbox.api import Response, WriteLog
from connectors.sandbox.hubspot import errors
from connectors.sandbox.hubspot.catalog import (
    FIELD_TYPES,
    FIELD_TYPES_BY_TYPE,
    PROPERTY_TYPES,
    custom_property,
)
from connectors.sandbox.hubspot.derive import closing_properties, stage_date_properties
from connectors.sandbox.hubspot.render import render_deal
from connectors.sandbox.hubspot.state import (
    Deal,
    HistoryEntry,
    HubSpotState,
    add_deal,
    archive_deal,
)
from connectors.sandbox.hubspot.values import (
    NotMidnight,
    iso_ms,
    midnight_time_of_day,
    now_ms,
    parse_date,
    parse_instant,
    parse_number,
)

MAX_INPUTS = 100
PROPERTY_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
Problem = dict[str, str]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _problem(name: str, error: str, message: str) -> Problem:
    return {"name": name, "error": error, "message": message}


def _normalize(
    state: HubSpotState, deal: Deal, name: str, raw: Any, updates: Mapping[str, Any]
) -> tuple[str | None, Problem | None]:
    """The stored form of one written value, or the problem with it."""
    prop = state.properties.get(name)
    if prop is None:
        return None, _problem(name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist')
    if prop.read_only:
        return None, _problem(
            name, "READ_ONLY_VALUE", f'"{name}" is a read only property; its value cannot be set.'
        )
    value = _text(raw).strip() if prop.type != "string" else _text(raw)
    if value == "":
        if name in ("dealstage", "pipeline"):
            return None, _problem(name, "REQUIRED_PROPERTY", f'"{name}" is required')
        return None, None
    if prop.type == "number" and parse_number(value) is None:
        return None, _problem(name, "INVALID_FLOAT", f"{value} was not a valid number.")
    if prop.type == "datetime":
        ms = parse_instant(value)
        if ms is None:
            return None, _problem(name, "INVALID_DATETIME", f"{value} was not a valid datetime.")
        return iso_ms(ms), None
    if prop.type == "date":
        try:
            day = parse_date(value)
        except NotMidnight:
            return None, _problem(
                name,
                "INVALID_DATE",
                f"{value} is at {midnight_time_of_day(value)} UTC, not midnight!",
            )
        if day is None:
            return None, _problem(name, "INVALID_DATE", f"{value} was not a valid date.")
        return day.isoformat(), None
    if prop.type == "bool":
        if value.lower() not in ("true", "false"):
            return None, _problem(
                name, "INVALID_OPTION", f"{value} was not one of the allowed options: [true, false]"
            )
        return value.lower(), None
    if name == "pipeline" and value not in {p["id"] for p in state.pipelines}:
        return None, _problem(name, "INVALID_OPTION", f"{value} is not a valid pipeline")
    stage_now = deal.props.get("dealstage", "")
    if (
        name == "pipeline"
        and "dealstage" not in updates
        and not state.stage_in_pipeline(stage_now, value)
    ):
        return None, _problem(
            "dealstage",
            "INVALID_OPTION",
            f"{deal.props.get('dealstage')} is not a stage of pipeline {value}",
        )
    if name == "dealstage":
        pipeline = _text(updates.get("pipeline")) or deal.props.get("pipeline", "default")
        if state.stage_in_pipeline(value, pipeline) is None:
            return None, _problem(
                name,
                "INVALID_OPTION",
                f"{value} was not one of the allowed options for pipeline {pipeline}",
            )
    elif name == "hubspot_owner_id" and value not in state.owner_ids:
        return None, _problem(name, "INVALID_OWNER_ID", f"{value} is not a valid owner id")
    elif (
        prop.type == "enumeration"
        and prop.options
        and name != "pipeline"
        and value not in {option["value"] for option in prop.options}
    ):
        return None, _problem(name, "INVALID_OPTION", f"{value} was not one of the allowed options")
    return value, None


def validate_inputs(
    state: HubSpotState, inputs: Any
) -> tuple[list[tuple[Deal, dict[str, str | None]]], Response | None]:
    """Every input checked before anything is applied; one bad input fails the whole batch."""
    if not isinstance(inputs, list):
        return [], errors.validation("Invalid input JSON: inputs must be a list")
    if len(inputs) > MAX_INPUTS:
        return [], errors.validation(f"Too many inputs: {len(inputs)} (the limit is {MAX_INPUTS})")
    ids = [str(item.get("id", "")) if isinstance(item, dict) else "" for item in inputs]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        return [], errors.validation(
            f"Duplicate IDs found in batch input: {duplicates}. IDs must be unique"
        )
    missing = [i for i in ids if state.live_deal(i) is None]
    if missing:
        return [], errors.error(
            404,
            "Could not update some DEAL objects, they may be deleted or not exist. "
            "Check that ids are valid.",
            "OBJECT_NOT_FOUND",
            context={"ids": missing},
        )
    problems: list[Problem] = []
    planned: list[tuple[Deal, dict[str, str | None]]] = []
    for item, deal_id in zip(inputs, ids, strict=True):
        props = item.get("properties")
        if not isinstance(props, dict):
            return [], errors.validation(
                f"Invalid input: properties of {deal_id} must be an object"
            )
        deal = state.deals[deal_id]
        values: dict[str, str | None] = {}
        for name, raw in props.items():
            value, problem = _normalize(state, deal, name, raw, props)
            if problem:
                problems.append(problem)
            else:
                values[name] = value
        planned.append((deal, values))
    if problems:
        return [], errors.property_errors(problems)
    return planned, None


def apply_update(
    state: HubSpotState, deal: Deal, values: Mapping[str, str | None], write_log: WriteLog
) -> None:
    """Apply validated values: history, stage-derived properties, modification stamp, write log."""
    changes = {
        name: (deal.props.get(name), new)
        for name, new in values.items()
        if deal.props.get(name) != new
    }
    if not changes:
        return
    moment = max(now_ms(), deal.modified_ms + 1)
    for name, (old, new) in changes.items():
        if name == "dealstage":
            assert new is not None
            deal.stages.append((new, moment, "INTEGRATION"))
            pipeline = values.get("pipeline") or deal.props.get("pipeline", "default")
            stage = state.stage_in_pipeline(new, pipeline)
            assert stage is not None
            deal.props.update(closing_properties(stage))
            deal.props.update(stage_date_properties(deal.stages))
        else:
            entries = deal.history.setdefault(name, [])
            if not entries and old is not None:
                entries.append(
                    HistoryEntry(
                        old, deal.stages[0][1] if deal.stages else deal.modified_ms, "CRM_UI"
                    )
                )
            entries.append(HistoryEntry(new, moment, "INTEGRATION"))
        if new is None:
            deal.props.pop(name, None)
        else:
            deal.props[name] = new
    deal.props["hs_lastmodifieddate"] = iso_ms(moment)
    state.set_modified(deal, moment)
    write_log.record(crm="hubspot", obj="deals", record_id=deal.id, changes=changes)


def batch_update(state: HubSpotState, body: Any, write_log: WriteLog) -> Response:
    """`POST /crm/v3/objects/deals/batch/update`."""
    started = iso_ms(now_ms())
    inputs = body.get("inputs") if isinstance(body, dict) else None
    with state.lock:
        planned, failure = validate_inputs(state, inputs)
        if failure is not None:
            return failure
        for deal, values in planned:
            apply_update(state, deal, values, write_log)
        results = [
            render_deal(deal, names=list(values), catalog=state.properties)
            for deal, values in planned
        ]
    return Response.json(
        200,
        {
            "status": "COMPLETE",
            "results": results,
            "startedAt": started,
            "completedAt": iso_ms(now_ms()),
        },
    )


def update_one(state: HubSpotState, deal_id: str, body: Any, write_log: WriteLog) -> Response:
    """`PATCH /crm/v3/objects/deals/{id}`."""
    props = body.get("properties") if isinstance(body, dict) else None
    with state.lock:
        if state.live_deal(deal_id) is None:
            return errors.not_found_object(deal_id)
        planned, failure = validate_inputs(state, [{"id": deal_id, "properties": props}])
        if failure is not None:
            return failure
        deal, values = planned[0]
        apply_update(state, deal, values, write_log)
        return Response.json(200, render_deal(deal, names=list(values), catalog=state.properties))


def create_property(state: HubSpotState, body: Any, write_log: WriteLog) -> Response:
    """`POST /crm/v3/properties/deals`."""
    if not isinstance(body, dict):
        return errors.validation("Invalid input JSON")
    name, label = body.get("name"), body.get("label")
    type_, field_type, group = body.get("type"), body.get("fieldType"), body.get("groupName")
    for key, value in (
        ("name", name),
        ("label", label),
        ("type", type_),
        ("fieldType", field_type),
        ("groupName", group),
    ):
        if not isinstance(value, str) or not value:
            return errors.validation(f"{key} is required")
    if not PROPERTY_NAME.match(name):
        return errors.validation(
            f"Property name {name!r} must start with a lowercase letter and "
            "contain only lowercase letters, digits and underscores"
        )
    if type_ not in PROPERTY_TYPES:
        return errors.validation(f"Invalid type {type_!r}; allowed: {sorted(PROPERTY_TYPES)}")
    if field_type not in FIELD_TYPES or field_type not in FIELD_TYPES_BY_TYPE[type_]:
        return errors.validation(f"fieldType {field_type!r} is not valid for type {type_!r}")
    options = body.get("options")
    if options is not None and not isinstance(options, list):
        return errors.validation("options must be a list")
    if type_ == "enumeration" and not options:
        return errors.validation("An enumeration property needs options")
    with state.lock:
        if name in state.properties:
            return errors.error(
                409,
                f"A property named '{name}' already exists.",
                "OBJECT_ALREADY_EXISTS",
                context={"name": [name]},
            )
        prop = custom_property(
            name=name,
            label=label,
            type_=type_,
            field_type=field_type,
            group=group,
            options=options or None,
            created_at=iso_ms(now_ms()),
        )
        prop.description = str(body.get("description") or "")
        state.properties[name] = prop
    write_log.record(
        crm="hubspot",
        obj="properties",
        record_id=name,
        changes={
            "label": (None, label),
            "type": (None, type_),
            "fieldType": (None, field_type),
            "groupName": (None, group),
        },
    )
    return Response.json(201, prop.to_json())


def create_deal(state: HubSpotState, body: Any, write_log: WriteLog) -> Response:
    """`POST /crm/v3/objects/deals`: a new deal in its stage, with companies from
    `associations` (`{"to": {"id": ...}, "types": [...]}`); 201 with the deal."""
    props = body.get("properties") if isinstance(body, dict) else None
    if not isinstance(props, dict):
        return errors.validation("Invalid input JSON: properties must be an object")
    associations = body.get("associations") or []
    if not isinstance(associations, list):
        return errors.validation("Invalid input JSON: associations must be a list")
    with state.lock:
        company_ids = []
        for item in associations:
            to = item.get("to") if isinstance(item, dict) else None
            target = str(to.get("id", "")) if isinstance(to, dict) else ""
            if target not in state.companies:
                return errors.validation(f"Invalid association target: company {target!r}")
            company_ids.append(target)
        props = {**props}
        props.setdefault("pipeline", "default")
        if not _text(props.get("dealstage")):
            return errors.property_errors(
                [_problem("dealstage", "REQUIRED_PROPERTY", '"dealstage" is required')]
            )
        moment = now_ms()
        new_id = str(max((int(i) for i in state.deals), default=0) + 1)
        deal = Deal(new_id, {}, [], modified_ms=moment)
        values: dict[str, str] = {}
        problems: list[Problem] = []
        for name, raw in props.items():
            value, problem = _normalize(state, deal, name, raw, props)
            if problem:
                problems.append(problem)
            elif value is not None:
                values[name] = value
        if problems:
            return errors.property_errors(problems)
        stamp = iso_ms(moment)
        deal.props = {**values, "createdate": stamp, "hs_lastmodifieddate": stamp}
        deal.props["hs_object_id"] = new_id
        deal.stages = [(values["dealstage"], moment, "INTEGRATION")]
        stage = state.stage_in_pipeline(values["dealstage"], values["pipeline"])
        assert stage is not None
        deal.props.update(closing_properties(stage))
        deal.props.update(stage_date_properties(deal.stages))
        deal.companies = tuple(dict.fromkeys(company_ids))
        deal.created_at = stamp
        add_deal(state, deal)
        rendered = render_deal(deal, names=list(values), catalog=state.properties)
    write_log.record(
        crm="hubspot",
        obj="deals",
        record_id=new_id,
        changes={name: (None, value) for name, value in values.items()},
    )
    return Response.json(201, rendered)


def archive(state: HubSpotState, deal_id: str, write_log: WriteLog) -> Response:
    """`DELETE /crm/v3/objects/deals/{id}`: archive the deal (204; 204 again when already
    archived or unknown, as the real API answers)."""
    with state.lock:
        deal = state.live_deal(deal_id)
        if deal is None:
            return Response(204)
        archive_deal(state, deal, archived_at=iso_ms(max(now_ms(), deal.modified_ms + 1)))
    write_log.record(
        crm="hubspot", obj="deals", record_id=deal_id, changes={"archived": (False, True)}
    )
    return Response(204)
