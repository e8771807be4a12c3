"""Fixture orgs: the `salesforce` section of a sandbox data file (sandbox.md), checked and
completed the way Salesforce derives fields; a bad value is refused with its JSON path."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from connectors.sandbox.api import FixtureError
from connectors.sandbox.salesforce.ids import normalize_id
from connectors.sandbox.salesforce.schema import (
    FORECAST_CATEGORY_API,
    FORECAST_CATEGORY_NAMES,
    ObjectDef,
    custom_field,
    standard_objects,
)
from connectors.sandbox.salesforce.stages import stage_record, standard_stage_specs
from connectors.sandbox.salesforce.state import OrgState, Record
from connectors.sandbox.salesforce.values import ValueTypeError, from_json

_SECTION = "salesforce"
_KEYS = frozenset(
    {
        "multi_currency",
        "users",
        "accounts",
        "opportunity_stages",
        "currency_types",
        "opportunity_custom_fields",
        "opportunities",
        "opportunity_history",
    }
)
_ISO = re.compile(r"^[A-Z]{3}$")
_DEFAULTS = {"IsDeleted": False, "IsActive": True, "Pipeline_Stale__c": False}


def _list(section: Mapping[str, Any], key: str) -> list[Any]:
    """The list at `key` (absent means empty)."""
    value = section.get(key, [])
    if not isinstance(value, list):
        raise FixtureError(f"{_SECTION}.{key}", "must be a list")
    return value


def _object(item: Any, path: str) -> Mapping[str, Any]:
    """`item` when it is a JSON object."""
    if not isinstance(item, Mapping):
        raise FixtureError(path, "must be an object")
    return item


def load_fixture(section: Mapping[str, Any], *, now: datetime) -> OrgState:
    """The org a fixture's `salesforce` section describes (exactly that, nothing generated)."""
    section = _object(section, _SECTION)
    for key in section:
        if key not in _KEYS:
            raise FixtureError(f"{_SECTION}.{key}", "unknown key")
    multi = section.get("multi_currency", True)
    if not isinstance(multi, bool):
        raise FixtureError(f"{_SECTION}.multi_currency", "must be true or false")
    custom = _custom_fields(section)
    stage_specs = _stage_specs(section)
    currencies = _currencies(section, multi=multi)
    objects = standard_objects(
        multi_currency=multi,
        custom_fields=custom,
        stage_names=[s.get("MasterLabel") or s["ApiName"] for s in stage_specs],
        currency_codes=[c["IsoCode"] for c in currencies] or ["USD"],
    )
    state = OrgState(objects=objects, multi_currency=multi)
    state.corporate_currency = next((c["IsoCode"] for c in currencies if c["IsCorporate"]), "USD")
    stage_ids = state.reserve_ids("01J", len(stage_specs))
    state.tables["OpportunityStage"] = {
        sid: stage_record(spec, record_id=sid, user_id=state.api_user_id, stamp=now)
        for sid, spec in zip(stage_ids, stage_specs, strict=True)
    }
    if multi:
        currency_ids = state.reserve_ids("02B", len(currencies))
        state.tables["CurrencyType"] = {
            cid: {
                "Id": cid,
                **c,
                "CreatedById": state.api_user_id,
                "CreatedDate": now,
                "LastModifiedById": state.api_user_id,
                "LastModifiedDate": now,
                "SystemModstamp": now,
            }
            for cid, c in zip(currency_ids, currencies, strict=True)
        }
    state.tables["User"] = _records(section, "users", objects["User"], state, now=now)
    for row in state.tables["User"].values():
        if row["Name"] is None:
            row["Name"] = " ".join(p for p in (row["FirstName"], row["LastName"]) if p) or None
    state.tables["Account"] = _records(section, "accounts", objects["Account"], state, now=now)
    state.tables["Opportunity"] = _records(
        section, "opportunities", objects["Opportunity"], state, now=now
    )
    for index, row in enumerate(state.tables["Opportunity"].values()):
        _complete_opportunity(state, row, f"{_SECTION}.opportunities[{index}]")
    state.tables["OpportunityHistory"] = _records(
        section,
        "opportunity_history",
        objects["OpportunityHistory"],
        state,
        now=now,
        generate_ids=True,
    )
    for index, row in enumerate(state.tables["OpportunityHistory"].values()):
        _complete_history(state, row, f"{_SECTION}.opportunity_history[{index}]")
    _stage_change_dates(state)
    for table in state.tables.values():
        for row in table.values():
            for name in ("SystemModstamp", "LastModifiedDate", "CreatedDate"):
                if isinstance(row.get(name), datetime):
                    state.clock.advance_past(row[name])
    state.clock.advance_past(now)
    return state


def _custom_fields(section: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The `opportunity_custom_fields` entries, checked."""
    out: list[Mapping[str, Any]] = []
    seen: set[str] = set()
    for index, item in enumerate(_list(section, "opportunity_custom_fields")):
        path = f"{_SECTION}.opportunity_custom_fields[{index}]"
        spec = _object(item, path)
        try:
            field = custom_field(spec)
        except ValueError as exc:
            raise FixtureError(path, str(exc)) from None
        if field.name.lower() in seen:
            raise FixtureError(f"{path}.name", f"duplicate custom field {field.name}")
        seen.add(field.name.lower())
        out.append(spec)
    return out


def _stage_specs(section: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The stages (the standard ten when the fixture has none), checked."""
    items = _list(section, "opportunity_stages")
    if not items:
        return standard_stage_specs()
    specs = []
    names: set[str] = set()
    for index, item in enumerate(items):
        path = f"{_SECTION}.opportunity_stages[{index}]"
        spec = dict(_object(item, path))
        label = spec.get("MasterLabel") or spec.get("ApiName")
        if not isinstance(label, str) or not label:
            raise FixtureError(f"{path}.MasterLabel", "a stage needs a MasterLabel or ApiName")
        if label in names:
            raise FixtureError(f"{path}.MasterLabel", f"duplicate stage {label!r}")
        names.add(label)
        for key in ("IsActive", "IsClosed", "IsWon"):
            if key in spec and not isinstance(spec[key], bool):
                raise FixtureError(f"{path}.{key}", "must be true or false")
        if spec.get("IsWon") and not spec.get("IsClosed"):
            raise FixtureError(f"{path}.IsWon", "a won stage must also be closed")
        probability = spec.get("DefaultProbability")
        if probability is not None and (
            isinstance(probability, bool)
            or not isinstance(probability, int | float)
            or not 0 <= probability <= 100
        ):
            raise FixtureError(f"{path}.DefaultProbability", "must be a number from 0 to 100")
        order = spec.get("SortOrder", index + 1)
        if isinstance(order, bool) or not isinstance(order, int):
            raise FixtureError(f"{path}.SortOrder", "must be an integer")
        spec["SortOrder"] = order
        category = spec.get("ForecastCategoryName")
        if category is not None and category not in FORECAST_CATEGORY_NAMES:
            raise FixtureError(
                f"{path}.ForecastCategoryName",
                f"must be one of {', '.join(FORECAST_CATEGORY_NAMES)}",
            )
        specs.append(spec)
    return specs


def _currencies(section: Mapping[str, Any], *, multi: bool) -> list[dict[str, Any]]:
    """The currency types (USD corporate added when none is corporate), checked."""
    items = _list(section, "currency_types")
    if items and not multi:
        raise FixtureError(
            f"{_SECTION}.currency_types",
            "a single-currency org (multi_currency false) has no currency types",
        )
    if not multi:
        return []
    out: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        path = f"{_SECTION}.currency_types[{index}]"
        spec = _object(item, path)
        code = spec.get("IsoCode")
        if not isinstance(code, str) or not _ISO.match(code):
            raise FixtureError(f"{path}.IsoCode", "must be a 3-letter ISO 4217 code")
        if any(c["IsoCode"] == code for c in out):
            raise FixtureError(f"{path}.IsoCode", f"duplicate currency {code}")
        rate = spec.get("ConversionRate")
        if isinstance(rate, bool) or not isinstance(rate, int | float) or rate <= 0:
            raise FixtureError(f"{path}.ConversionRate", "must be a positive number")
        flags = {}
        for key, default in (("IsCorporate", False), ("IsActive", True)):
            flags[key] = spec.get(key, default)
            if not isinstance(flags[key], bool):
                raise FixtureError(f"{path}.{key}", "must be true or false")
        places = spec.get("DecimalPlaces", 2)
        if isinstance(places, bool) or not isinstance(places, int) or not 0 <= places <= 6:
            raise FixtureError(f"{path}.DecimalPlaces", "must be an integer from 0 to 6")
        if flags["IsCorporate"] and rate != 1:
            raise FixtureError(f"{path}.ConversionRate", "the corporate currency's rate is 1")
        out.append(
            {"IsoCode": code, "ConversionRate": float(rate), "DecimalPlaces": places, **flags}
        )
    corporate = [c for c in out if c["IsCorporate"]]
    if len(corporate) > 1:
        raise FixtureError(f"{_SECTION}.currency_types", "more than one corporate currency")
    if not corporate:
        if any(c["IsoCode"] == "USD" for c in out):
            raise FixtureError(
                f"{_SECTION}.currency_types", "no corporate currency (mark one IsCorporate true)"
            )
        out.insert(
            0,
            {
                "IsoCode": "USD",
                "ConversionRate": 1.0,
                "DecimalPlaces": 2,
                "IsCorporate": True,
                "IsActive": True,
            },
        )
    return out


def _records(
    section: Mapping[str, Any],
    key: str,
    obj: ObjectDef,
    state: OrgState,
    *,
    now: datetime,
    generate_ids: bool = False,
) -> dict[str, Record]:
    """Records of one list, each field checked against `obj` and typed; absent fields null."""
    out: dict[str, Record] = {}
    for index, item in enumerate(_list(section, key)):
        path = f"{_SECTION}.{key}[{index}]"
        raw = _object(item, path)
        row: Record = {name: _DEFAULTS.get(name) for name in obj.fields}
        for name, value in raw.items():
            field = obj.field(name) if isinstance(name, str) else None
            if field is None:
                raise FixtureError(f"{path}.{name}", f"no such field on {obj.name}")
            try:
                typed = from_json(field, value)
            except ValueTypeError as exc:
                raise FixtureError(f"{path}.{name}", str(exc)) from None
            if field.type in {"id", "reference"} and typed is not None:
                prefix = (
                    obj.key_prefix if field.type == "id" else _prefix(state, field.reference_to)
                )
                normal = normalize_id(typed, prefix)
                if normal is None:
                    raise FixtureError(f"{path}.{name}", f"not a valid {prefix} id: {typed!r}")
                typed = normal
            if (
                field.type in {"string", "textarea"}
                and field.length
                and typed is not None
                and len(typed) > field.length
            ):
                raise FixtureError(f"{path}.{name}", f"longer than {field.length} characters")
            if (
                field.type == "picklist"
                and field.picklist_values
                and typed is not None
                and field.name != "StageName"
                and typed not in field.picklist_values
            ):
                raise FixtureError(f"{path}.{name}", f"{typed!r} is not a value of the picklist")
            row[field.name] = typed
        if row["Id"] is None:
            if not generate_ids:
                raise FixtureError(f"{path}.Id", "required")
            row["Id"] = state.new_id(obj.key_prefix, obj.name)
        if row["Id"] in out:
            raise FixtureError(f"{path}.Id", f"duplicate id {row['Id']}")
        for name in ("CreatedDate", "LastModifiedDate", "SystemModstamp"):
            if name in row and row[name] is None:
                row[name] = row.get("CreatedDate") or now
        for name in ("CreatedById", "LastModifiedById"):
            if name in row and row[name] is None:
                row[name] = state.api_user_id
        for name, target in (("OwnerId", "User"), ("AccountId", "Account")):
            if (
                obj.name != target
                and row.get(name) is not None
                and row[name] not in state.tables.get(target, {})
            ):
                raise FixtureError(f"{path}.{name}", f"no {target} with id {row[name]}")
        out[row["Id"]] = row
    return out


def _prefix(state: OrgState, target: str | None) -> str | None:
    """The key prefix of a reference's target object (None when the sandbox lacks it)."""
    known = {"RecordType": "012"}
    obj = state.objects.get(target or "")
    return obj.key_prefix if obj else known.get(target or "")


def _expected_revenue(row: Record) -> None:
    """ExpectedRevenue = Amount x Probability, when the fixture lacks it."""
    if (
        row["ExpectedRevenue"] is None
        and row["Amount"] is not None
        and row["Probability"] is not None
    ):
        row["ExpectedRevenue"] = round(row["Amount"] * row["Probability"] / 100, 2)


def _complete_opportunity(state: OrgState, row: Record, path: str) -> None:
    """Check an opportunity's required fields and derive what Salesforce derives."""
    for name in ("Name", "StageName", "CloseDate"):
        if row[name] is None:
            raise FixtureError(f"{path}.{name}", "required")
    stage = state.stage(row["StageName"])
    if stage is None:
        raise FixtureError(f"{path}.StageName", f"no stage {row['StageName']!r}")
    row["StageName"] = stage["MasterLabel"]
    for name in ("IsClosed", "IsWon", "ForecastCategoryName"):
        if row[name] is None:
            row[name] = stage[name]
    if row["Probability"] is None:
        row["Probability"] = stage["DefaultProbability"]
    row["ForecastCategory"] = FORECAST_CATEGORY_API[row["ForecastCategoryName"]]
    _expected_revenue(row)
    if state.multi_currency:
        if row["CurrencyIsoCode"] is None:
            row["CurrencyIsoCode"] = state.corporate_currency
        codes = {c["IsoCode"] for c in state.table("CurrencyType").values()}
        if row["CurrencyIsoCode"] not in codes:
            raise FixtureError(
                f"{path}.CurrencyIsoCode",
                f"{row['CurrencyIsoCode']!r} is not a currency of the org",
            )


def _complete_history(state: OrgState, row: Record, path: str) -> None:
    """Check a history row's opportunity and stage, and derive its other fields."""
    opportunity = state.get("Opportunity", row["OpportunityId"] or "")
    if opportunity is None:
        raise FixtureError(
            f"{path}.OpportunityId", f"no Opportunity with id {row['OpportunityId']}"
        )
    stage = state.stage(row["StageName"]) if row["StageName"] is not None else None
    if stage is None:
        raise FixtureError(f"{path}.StageName", f"no stage {row['StageName']!r}")
    row["StageName"] = stage["MasterLabel"]
    if row["Probability"] is None:
        row["Probability"] = stage["DefaultProbability"]
    if row["ForecastCategory"] is None:
        row["ForecastCategory"] = stage["ForecastCategory"]
    _expected_revenue(row)
    if state.multi_currency and row.get("CurrencyIsoCode") is None:
        row["CurrencyIsoCode"] = opportunity["CurrencyIsoCode"]
    row["IsDeleted"] = bool(row["IsDeleted"] or opportunity["IsDeleted"])
    row["SystemModstamp"] = row["CreatedDate"]
    if row["CreatedById"] == state.api_user_id and opportunity["OwnerId"]:
        row["CreatedById"] = opportunity["OwnerId"]


def _stage_change_dates(state: OrgState) -> None:
    """LastStageChangeDate, when the fixture lacks it: when the opportunity entered its current
    stage according to its history, else its CreatedDate."""
    rows_by_opp: dict[str, list[Record]] = {}
    for row in state.table("OpportunityHistory").values():
        rows_by_opp.setdefault(row["OpportunityId"], []).append(row)
    for opportunity in state.table("Opportunity").values():
        if opportunity["LastStageChangeDate"] is not None:
            continue
        entered = opportunity["CreatedDate"]
        history = sorted(rows_by_opp.get(opportunity["Id"], []), key=lambda r: r["CreatedDate"])
        for row in reversed(history):
            if row["StageName"] != opportunity["StageName"]:
                break
            entered = row["CreatedDate"]
        opportunity["LastStageChangeDate"] = entered
