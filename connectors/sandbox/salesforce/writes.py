"""Opportunity updates, shared by REST PATCH, sObject Collections and Bulk 2.0 ingest.

`check` validates one record's update without touching state (so allOrNone can refuse a
whole batch); `apply` changes the record the way Salesforce does: stamps move forward, a
stage sets IsClosed/IsWon/ForecastCategory/Probability, a change to stage, amount, close
date or probability adds an OpportunityHistory row, and the written fields that changed go
to the write log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from connectors.sandbox.api import WriteLog
from connectors.sandbox.salesforce.ids import normalize_id
from connectors.sandbox.salesforce.schema import FORECAST_CATEGORY_API, FieldDef
from connectors.sandbox.salesforce.stages import derived_from_stage
from connectors.sandbox.salesforce.state import OrgState, Record

OBJECT = "Opportunity"
_HISTORY_FIELDS = ("StageName", "Amount", "CloseDate", "Probability")
_REQUIRED = ("Name", "StageName", "CloseDate", "OwnerId")


@dataclass(frozen=True)
class SaveError:
    """One record's failure, as a SaveResult error."""

    status_code: str
    message: str
    fields: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The REST SaveResult error object."""
        return {"statusCode": self.status_code, "message": self.message, "fields": self.fields}

    def as_bulk(self) -> str:
        """The Bulk 2.0 `sf__Error` text, e.g. `ENTITY_IS_DELETED:entity is deleted:--`."""
        return f"{self.status_code}:{self.message}:{','.join(self.fields) or '--'}"


@dataclass(frozen=True)
class Update:
    """A checked update of one record: its id and typed values by canonical field name."""

    record_id: str
    values: dict[str, Any]


def find(state: OrgState, raw_id: Any) -> tuple[Record | None, SaveError | None]:
    """The Opportunity with id `raw_id`, or why it cannot be updated."""
    if not isinstance(raw_id, str) or normalize_id(raw_id) is None:
        return None, SaveError(
            "MALFORMED_ID", f"Opportunity ID: id value of incorrect type: {raw_id}", ["Id"]
        )
    record_id = normalize_id(raw_id, "006")
    if record_id is None:
        return None, SaveError(
            "MALFORMED_ID", f"Opportunity ID: id value of incorrect type: {raw_id}", ["Id"]
        )
    record = state.get(OBJECT, record_id)
    if record is None:
        return None, SaveError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
    if record["IsDeleted"]:
        return record, SaveError("ENTITY_IS_DELETED", "entity is deleted")
    return record, None


def check(state: OrgState, record: Record, values: Mapping[FieldDef, Any]) -> Update | SaveError:
    """Validate typed `values` for `record` (read-only fields, lengths, required fields,
    stages, currencies and references), without changing anything."""
    locked = [f.name for f in values if not f.updateable]
    if locked:
        return SaveError(
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to create/update fields: {', '.join(locked)}. Please check the security "
            "settings of this field and verify that it is read/write for your profile or "
            "permission set.",
            locked,
        )
    out: dict[str, Any] = {}
    for fdef, value in values.items():
        if value is None and fdef.type == "boolean":
            value = False
        if value is None and fdef.name in _REQUIRED:
            return SaveError(
                "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{fdef.name}]", [fdef.name]
            )
        if isinstance(value, str) and fdef.length and len(value) > fdef.length:
            return SaveError(
                "STRING_TOO_LONG",
                f"{fdef.label}: data value too large: {value[:40]}... (max length={fdef.length})",
                [fdef.name],
            )
        problem = _reference_problem(state, fdef, value)
        if problem is not None:
            return problem
        if fdef.name == "StageName":
            stage = state.stage(value)
            if stage is None or not stage["IsActive"]:
                return SaveError(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"Stage: bad value for restricted picklist field: {value}",
                    ["StageName"],
                )
            value = stage["MasterLabel"]
        if fdef.name == "CurrencyIsoCode":
            codes = {c["IsoCode"] for c in state.table("CurrencyType").values() if c["IsActive"]}
            if value not in codes:
                return SaveError(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"Currency ISO Code: invalid currency code: {value}",
                    ["CurrencyIsoCode"],
                )
        if (
            fdef.name == "ForecastCategoryName"
            and value is not None
            and value not in FORECAST_CATEGORY_API
        ):
            return SaveError(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"Forecast Category: bad value for restricted picklist field: {value}",
                ["ForecastCategoryName"],
            )
        if (
            fdef.type == "picklist"
            and fdef.custom
            and fdef.picklist_values
            and value is not None
            and value not in fdef.picklist_values
        ):
            return SaveError(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{fdef.label}: bad value for restricted picklist field: {value}",
                [fdef.name],
            )
        if fdef.type == "percent" and value is not None and not 0 <= value <= 100:
            return SaveError(
                "FIELD_INTEGRITY_EXCEPTION",
                f"{fdef.label}: value outside of valid range on numeric field: {value}",
                [fdef.name],
            )
        out[fdef.name] = value
    return Update(record["Id"], out)


def _reference_problem(state: OrgState, fdef: FieldDef, value: Any) -> SaveError | None:
    """Why a reference value is refused (unknown or wrong-type id), else None."""
    if fdef.type != "reference" or value is None:
        return None
    target = state.objects.get(fdef.reference_to or "")
    normal = normalize_id(value, target.key_prefix if target else None) if target else None
    if normal is None or state.get(target.name, normal) is None:  # type: ignore[union-attr]
        return SaveError(
            "INVALID_CROSS_REFERENCE_KEY",
            f"{fdef.label}: id value of incorrect type: {value}",
            [fdef.name],
        )
    return None


def apply(state: OrgState, update: Update, *, write_log: WriteLog) -> dict[str, tuple[Any, Any]]:
    """Apply a checked update; returns the written fields that changed as (old, new)."""
    with state.lock:
        record = state.table(OBJECT)[update.record_id]
        values = dict(update.values)
        for name in ("AccountId", "OwnerId", "RecordTypeId"):
            if values.get(name) is not None:
                values[name] = normalize_id(values[name])
        logged = {
            name: (record[name], value)
            for name, value in values.items()
            if record.get(name) != value
        }
        before = {name: record[name] for name in _HISTORY_FIELDS}
        stamp = state.clock.next()
        record.update(values)
        if "StageName" in logged:
            stage = state.stage(record["StageName"])
            derived = derived_from_stage(stage)  # type: ignore[arg-type]
            if "Probability" in values:
                derived.pop("Probability")
            if "ForecastCategoryName" in values and not stage["IsClosed"]:  # type: ignore[index]
                derived.pop("ForecastCategoryName")
                derived.pop("ForecastCategory")
            record.update(derived)
            record["LastStageChangeDate"] = stamp
        elif "ForecastCategoryName" in logged:
            record["ForecastCategory"] = FORECAST_CATEGORY_API[record["ForecastCategoryName"]]
        amount, probability = record["Amount"], record["Probability"]
        record["ExpectedRevenue"] = (
            None if amount is None or probability is None else round(amount * probability / 100, 2)
        )
        record["LastModifiedDate"] = stamp
        record["SystemModstamp"] = stamp
        record["LastModifiedById"] = state.api_user_id
        if any(record[name] != before[name] for name in _HISTORY_FIELDS):
            _add_history(state, record, before, stamp)
    if logged:
        write_log.record(crm="salesforce", obj=OBJECT, record_id=record["Id"], changes=logged)
    return logged


def _add_history(state: OrgState, record: Record, before: dict[str, Any], stamp: Any) -> None:
    """The OpportunityHistory row Salesforce adds for a stage/amount/date/probability change."""
    row_id = state.new_id("008", "OpportunityHistory")
    row = {
        "Id": row_id,
        "OpportunityId": record["Id"],
        "CreatedById": state.api_user_id,
        "CreatedDate": stamp,
        "StageName": record["StageName"],
        "Amount": record["Amount"],
        "ExpectedRevenue": record["ExpectedRevenue"],
        "CloseDate": record["CloseDate"],
        "Probability": record["Probability"],
        "ForecastCategory": record["ForecastCategory"],
        "PrevAmount": before["Amount"],
        "PrevCloseDate": before["CloseDate"],
        "SystemModstamp": stamp,
        "IsDeleted": False,
    }
    if state.multi_currency:
        row["CurrencyIsoCode"] = record.get("CurrencyIsoCode")
    state.add("OpportunityHistory", row)


def create(
    state: OrgState, values: Mapping[FieldDef, Any], *, write_log: WriteLog
) -> str | SaveError:
    """Insert an Opportunity the way Salesforce does (stage-derived fields, stamps, a first
    OpportunityHistory row); returns its id, or why it was refused."""
    with state.lock:
        given = {fdef.name for fdef in values}
        missing = [name for name in ("Name", "StageName", "CloseDate") if name not in given]
        if missing:
            return SaveError(
                "REQUIRED_FIELD_MISSING",
                f"Required fields are missing: [{', '.join(missing)}]",
                missing,
            )
        blank: Record = {"Id": None}
        checked = check(state, blank, values)
        if isinstance(checked, SaveError):
            return checked
        obj = state.objects[OBJECT]
        record: Record = {name: None for name in obj.fields}
        record["IsDeleted"] = False
        if "Pipeline_Stale__c" in record:
            record["Pipeline_Stale__c"] = False
        record.update(checked.values)
        for name in ("AccountId", "OwnerId", "RecordTypeId"):
            if record.get(name) is not None:
                record[name] = normalize_id(record[name])
        record["OwnerId"] = record.get("OwnerId") or state.api_user_id
        stage = state.stage(record["StageName"])
        derived = derived_from_stage(stage)  # type: ignore[arg-type]
        for name in ("Probability", "ForecastCategoryName"):
            if record.get(name) is not None:
                derived.pop(name)
        if "ForecastCategoryName" not in derived:
            derived.pop("ForecastCategory")
            record["ForecastCategory"] = FORECAST_CATEGORY_API[record["ForecastCategoryName"]]
        record.update(derived)
        if state.multi_currency and record.get("CurrencyIsoCode") is None:
            record["CurrencyIsoCode"] = state.corporate_currency
        amount, probability = record["Amount"], record["Probability"]
        record["ExpectedRevenue"] = (
            None if amount is None or probability is None else round(amount * probability / 100, 2)
        )
        stamp = state.clock.next()
        record["Id"] = state.new_id("006", OBJECT)
        for name in ("CreatedDate", "LastModifiedDate", "SystemModstamp", "LastStageChangeDate"):
            record[name] = stamp
        for name in ("CreatedById", "LastModifiedById"):
            record[name] = state.api_user_id
        state.add(OBJECT, record)
        _add_history(state, record, {"Amount": None, "CloseDate": None}, stamp)
    write_log.record(
        crm="salesforce",
        obj=OBJECT,
        record_id=record["Id"],
        changes={name: (None, value) for name, value in checked.values.items()},
    )
    return record["Id"]


def delete(state: OrgState, raw_id: Any, *, write_log: WriteLog) -> SaveError | None:
    """Move an Opportunity to the recycle bin: IsDeleted true (queryAll still sees it, with
    its history), stamps moved forward; None when done, else why not."""
    with state.lock:
        record, problem = find(state, raw_id)
        if problem is not None:
            return problem
        assert record is not None
        stamp = state.clock.next()
        record["IsDeleted"] = True
        record["LastModifiedDate"] = stamp
        record["SystemModstamp"] = stamp
        record["LastModifiedById"] = state.api_user_id
        state.delete_history(record["Id"])
    write_log.record(
        crm="salesforce", obj=OBJECT, record_id=record["Id"], changes={"IsDeleted": (False, True)}
    )
    return None
