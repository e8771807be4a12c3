"""Load the `hubspot` section of a fixture into a portal, refusing what breaks the format.

Errors are `FixtureError(path, message)` with paths like `hubspot.deals[3].properties.amount`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from connectors.sandbox.api import FixtureError
from connectors.sandbox.hubspot.catalog import (
    FIELD_TYPES_BY_TYPE,
    PORTAL_CREATED_AT,
    PropertyDef,
    custom_property,
    default_pipeline,
    standard_properties,
)
from connectors.sandbox.hubspot.derive import StageEntry, closing_properties, stage_date_properties
from connectors.sandbox.hubspot.state import Company, Deal, HubSpotState
from connectors.sandbox.hubspot.values import (
    NotMidnight,
    iso_ms,
    parse_date,
    parse_instant,
    parse_number,
)

ROOT = "hubspot"
SECTIONS = ("owners", "companies", "pipelines", "deal_properties", "deals")
PROPERTY_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# Calculated from the stage history; a fixture may not state them.
DERIVED_PREFIXES = (
    "hs_v2_date_entered_",
    "hs_v2_date_exited_",
    "hs_date_entered_",
    "hs_date_exited_",
)
DERIVED = frozenset(
    {
        "hs_is_closed",
        "hs_is_closed_won",
        "hs_is_closed_lost",
        "hs_deal_stage_probability",
        "hs_object_id",
    }
)


def _object(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise FixtureError(path, "must be a JSON object")
    return value


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise FixtureError(path, "must be a JSON array")
    return value


def _string(obj: Mapping[str, Any], key: str, path: str, *, required: bool = True) -> str | None:
    value = obj.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise FixtureError(f"{path}.{key}", "must be a non-empty string")
    return value


def _id(obj: Mapping[str, Any], path: str, seen: set[str]) -> str:
    value = _string(obj, "id", path)
    assert value is not None
    if not value.isdigit():
        raise FixtureError(f"{path}.id", f"must be a numeric string, got {value!r}")
    if value in seen:
        raise FixtureError(f"{path}.id", f"duplicate id {value!r}")
    seen.add(value)
    return value


def _instant(value: str, path: str) -> int:
    ms = parse_instant(value)
    if ms is None:
        raise FixtureError(path, f"not an ISO-8601 datetime or epoch milliseconds: {value!r}")
    return ms


def _owners(raw: Any) -> list[dict[str, Any]]:
    owners, seen = [], set()
    for index, item in enumerate(_list(raw, f"{ROOT}.owners")):
        path = f"{ROOT}.owners[{index}]"
        owner = _object(item, path)
        owner_id = _id(owner, path, seen)
        for key in ("email", "firstName", "lastName"):
            _string(owner, key, path, required=key == "email")
        archived = owner.get("archived", False)
        if not isinstance(archived, bool):
            raise FixtureError(f"{path}.archived", "must be true or false")
        owners.append(
            {
                "id": owner_id,
                "email": owner["email"],
                "firstName": owner.get("firstName"),
                "lastName": owner.get("lastName"),
                "userId": owner.get("userId", int(owner_id)),
                "userIdIncludingInactive": owner.get("userId", int(owner_id)),
                "type": "PERSON",
                "createdAt": PORTAL_CREATED_AT,
                "updatedAt": PORTAL_CREATED_AT,
                "archived": archived,
                "teams": owner.get("teams", []),
            }
        )
    return owners


def _string_map(value: Any, path: str) -> dict[str, str]:
    props = _object(value, path)
    for key, item in props.items():
        if item is not None and not isinstance(item, str):
            raise FixtureError(f"{path}.{key}", "HubSpot property values are strings or null")
    return {key: item for key, item in props.items() if item is not None}


def _companies(raw: Any) -> list[Company]:
    companies, seen = [], set()
    for index, item in enumerate(_list(raw, f"{ROOT}.companies")):
        path = f"{ROOT}.companies[{index}]"
        company = _object(item, path)
        company_id = _id(company, path, seen)
        props = _string_map(company.get("properties", {}), f"{path}.properties")
        created = props.setdefault("createdate", PORTAL_CREATED_AT)
        props.setdefault("hs_lastmodifieddate", created)
        props["hs_object_id"] = company_id
        companies.append(Company(company_id, props, created, props["hs_lastmodifieddate"]))
    return companies


def _pipelines(raw: Any) -> list[dict[str, Any]]:
    pipelines, seen_pipelines, seen_stages = [], set(), set()
    for index, item in enumerate(_list(raw, f"{ROOT}.pipelines")):
        path = f"{ROOT}.pipelines[{index}]"
        pipeline = _object(item, path)
        pipeline_id = _string(pipeline, "id", path)
        if pipeline_id in seen_pipelines:
            raise FixtureError(f"{path}.id", f"duplicate pipeline id {pipeline_id!r}")
        seen_pipelines.add(pipeline_id)
        stages = []
        raw_stages = _list(pipeline.get("stages"), f"{path}.stages")
        if not raw_stages:
            raise FixtureError(f"{path}.stages", "a pipeline needs at least one stage")
        for stage_index, raw_stage in enumerate(raw_stages):
            stage_path = f"{path}.stages[{stage_index}]"
            stage = _object(raw_stage, stage_path)
            stage_id = _string(stage, "id", stage_path)
            if stage_id in seen_stages:
                raise FixtureError(f"{stage_path}.id", f"duplicate stage id {stage_id!r}")
            seen_stages.add(stage_id)
            metadata = _object(stage.get("metadata"), f"{stage_path}.metadata")
            if metadata.get("isClosed") not in ("true", "false"):
                raise FixtureError(f"{stage_path}.metadata.isClosed", 'must be "true" or "false"')
            probability = metadata.get("probability")
            number = parse_number(probability) if isinstance(probability, str) else None
            if number is None or not 0 <= number <= 1:
                raise FixtureError(
                    f"{stage_path}.metadata.probability", 'must be a decimal string from "0" to "1"'
                )
            stages.append(
                {
                    "id": stage_id,
                    "label": _string(stage, "label", stage_path),
                    "displayOrder": stage.get("displayOrder", stage_index),
                    "metadata": {"isClosed": metadata["isClosed"], "probability": probability},
                }
            )
        pipelines.append(
            {
                "id": pipeline_id,
                "label": _string(pipeline, "label", path),
                "displayOrder": pipeline.get("displayOrder", index),
                "stages": stages,
            }
        )
    return pipelines


def _custom_properties(raw: Any, properties: dict[str, PropertyDef]) -> None:
    for index, item in enumerate(_list(raw, f"{ROOT}.deal_properties")):
        path = f"{ROOT}.deal_properties[{index}]"
        prop = _object(item, path)
        name = _string(prop, "name", path)
        assert name is not None
        if not PROPERTY_NAME.match(name):
            raise FixtureError(f"{path}.name", f"not a valid property name: {name!r}")
        type_ = _string(prop, "type", path)
        if type_ not in FIELD_TYPES_BY_TYPE:
            raise FixtureError(f"{path}.type", f"unknown type {type_!r}")
        field_type = _string(prop, "fieldType", path)
        if field_type not in FIELD_TYPES_BY_TYPE[type_]:
            raise FixtureError(f"{path}.fieldType", f"{field_type!r} does not fit type {type_!r}")
        existing = properties.get(name)
        if existing is not None and existing.hubspot_defined:
            if existing.type != type_:
                raise FixtureError(
                    f"{path}.type", f"standard property {name!r} has type {existing.type!r}"
                )
            continue
        if existing is not None:
            raise FixtureError(f"{path}.name", f"duplicate property {name!r}")
        options = prop.get("options")
        if options is not None:
            _list(options, f"{path}.options")
        properties[name] = custom_property(
            name=name,
            label=prop.get("label") or name,
            type_=type_,
            field_type=field_type,
            options=options,
        )


def _check_value(prop: PropertyDef, value: str, path: str) -> str:
    if prop.type == "number" and parse_number(value) is None:
        raise FixtureError(path, f"not a number: {value!r}")
    if prop.type == "datetime":
        return iso_ms(_instant(value, path))
    if prop.type == "date":
        try:
            day = parse_date(value)
        except NotMidnight:
            raise FixtureError(
                path, f"a date property takes midnight UTC only: {value!r}"
            ) from None
        if day is None:
            raise FixtureError(path, f"not a date: {value!r}")
        return day.isoformat()
    if prop.type == "bool" and value not in ("true", "false"):
        raise FixtureError(path, f'must be "true" or "false", got {value!r}')
    return value


def _deal(item: Any, path: str, *, state_parts: dict[str, Any], seen: set[str]) -> Deal:
    raw = _object(item, path)
    deal_id = _id(raw, path, seen)
    properties: dict[str, PropertyDef] = state_parts["properties"]
    props = _string_map(raw.get("properties", {}), f"{path}.properties")
    for name, value in list(props.items()):
        prop_path = f"{path}.properties.{name}"
        if name in DERIVED or name.startswith(DERIVED_PREFIXES):
            raise FixtureError(prop_path, "is calculated from dealstage and stage_history")
        if name not in properties:
            raise FixtureError(prop_path, f"no deal property named {name!r}")
        props[name] = _check_value(properties[name], value, prop_path)
    pipeline_id = props.setdefault("pipeline", "default")
    if pipeline_id not in state_parts["pipeline_ids"]:
        raise FixtureError(f"{path}.properties.pipeline", f"unknown pipeline {pipeline_id!r}")
    stage_id = props.get("dealstage")
    stages: dict[str, tuple[str, dict[str, Any]]] = state_parts["stages"]
    if stage_id is None:
        raise FixtureError(f"{path}.properties.dealstage", "is required")
    if stages.get(stage_id, ("",))[0] != pipeline_id:
        raise FixtureError(
            f"{path}.properties.dealstage",
            f"{stage_id!r} is not a stage of pipeline {pipeline_id!r}",
        )
    owner = props.get("hubspot_owner_id")
    if owner is not None and owner not in state_parts["owner_ids"]:
        raise FixtureError(f"{path}.properties.hubspot_owner_id", f"no owner with id {owner!r}")
    history: list[StageEntry] = []
    for index, entry in enumerate(_list(raw.get("stage_history", []), f"{path}.stage_history")):
        entry_path = f"{path}.stage_history[{index}]"
        entry = _object(entry, entry_path)
        value = _string(entry, "value", entry_path)
        if stages.get(value or "", ("",))[0] != pipeline_id:
            raise FixtureError(
                f"{entry_path}.value", f"{value!r} is not a stage of pipeline {pipeline_id!r}"
            )
        ms = _instant(_string(entry, "timestamp", entry_path) or "", f"{entry_path}.timestamp")
        history.append((value, ms, entry.get("sourceType", "CRM_UI")))
    history.sort(key=lambda entry: entry[1])
    if "createdate" not in props:
        if not history:
            raise FixtureError(f"{path}.properties.createdate", "is required without stage_history")
        props["createdate"] = iso_ms(history[0][1])
    created_ms = _instant(props["createdate"], f"{path}.properties.createdate")
    if not history:
        history = [(stage_id, created_ms, "CRM_UI")]
    if history[-1][0] != stage_id:
        raise FixtureError(
            f"{path}.stage_history",
            f"the latest entry is {history[-1][0]!r} but dealstage is {stage_id!r}",
        )
    latest = max([created_ms, history[-1][1]])
    modified_ms = _instant(
        props.setdefault("hs_lastmodifieddate", iso_ms(latest)),
        f"{path}.properties.hs_lastmodifieddate",
    )
    props["hs_lastmodifieddate"] = iso_ms(modified_ms)
    props["hs_object_id"] = deal_id
    props.update(closing_properties(stages[stage_id][1]))
    props.update(stage_date_properties(history))
    companies = []
    for index, company_id in enumerate(_list(raw.get("companies", []), f"{path}.companies")):
        if company_id not in state_parts["company_ids"]:
            raise FixtureError(f"{path}.companies[{index}]", f"no company with id {company_id!r}")
        companies.append(company_id)
    archived = raw.get("archived", False)
    if not isinstance(archived, bool):
        raise FixtureError(f"{path}.archived", "must be true or false")
    return Deal(
        deal_id,
        props,
        history,
        tuple(companies),
        archived=archived,
        archived_at=props["hs_lastmodifieddate"] if archived else None,
        created_at=props["createdate"],
        modified_ms=modified_ms,
    )


def load_state(section: Mapping[str, Any]) -> HubSpotState:
    """Exactly the portal a fixture section states (the default pipeline when it has none)."""
    section = _object(section, ROOT)
    for key in section:
        if key not in SECTIONS:
            raise FixtureError(
                f"{ROOT}.{key}", f"unknown key (expected one of {', '.join(SECTIONS)})"
            )
    owners = _owners(section.get("owners", []))
    companies = _companies(section.get("companies", []))
    pipelines = _pipelines(section["pipelines"]) if "pipelines" in section else [default_pipeline()]
    properties = standard_properties(pipelines)
    _custom_properties(section.get("deal_properties", []), properties)
    parts = {
        "properties": properties,
        "pipeline_ids": {p["id"] for p in pipelines},
        "stages": {s["id"]: (p["id"], s) for p in pipelines for s in p["stages"]},
        "owner_ids": {o["id"] for o in owners},
        "company_ids": {c.id for c in companies},
    }
    seen: set[str] = set()
    deals = [
        _deal(item, f"{ROOT}.deals[{index}]", state_parts=parts, seen=seen)
        for index, item in enumerate(_list(section.get("deals", []), f"{ROOT}.deals"))
    ]
    return HubSpotState(
        pipelines=pipelines, properties=properties, owners=owners, companies=companies, deals=deals
    )
