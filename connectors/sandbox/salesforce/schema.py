"""Salesforce object definitions the sandbox serves: fields, types, relationships.

Shared by the SOQL engine (field validation, relationship paths), describe, and writes.
A record in the sandbox is a dict of field API name to a typed Python value:
str, bool, int, float (currency, percent, double), `datetime.date` (date), timezone-aware
`datetime` (datetime), or None.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

# Salesforce field types (describe's `type`).
FIELD_TYPES = frozenset(
    {
        "id",
        "string",
        "picklist",
        "currency",
        "percent",
        "date",
        "datetime",
        "boolean",
        "reference",
        "double",
        "int",
        "textarea",
    }
)


@dataclass(frozen=True)
class FieldDef:
    """One field of an sObject, as describe shows it."""

    name: str
    type: str
    label: str = ""
    reference_to: str | None = None  # target object of a reference field
    relationship_name: str | None = None  # e.g. "Owner" for OwnerId
    nillable: bool = True
    updateable: bool = False
    createable: bool = False
    custom: bool = False
    length: int = 0
    picklist_values: tuple[str, ...] = ()


@dataclass(frozen=True)
class ObjectDef:
    """One sObject: its fields by API name (case-insensitive lookups go through `field`)."""

    name: str
    label: str
    key_prefix: str
    fields: dict[str, FieldDef] = field(default_factory=dict)
    updateable: bool = False

    def field(self, name: str) -> FieldDef | None:
        """The field called `name`, matched case-insensitively as Salesforce does."""
        found = self.fields.get(name)
        if found is not None:
            return found
        lowered = name.lower()
        return next((f for n, f in self.fields.items() if n.lower() == lowered), None)

    def relationship(self, name: str) -> FieldDef | None:
        """The reference field whose relationship name is `name` (e.g. "Owner")."""
        lowered = name.lower()
        return next(
            (
                f
                for f in self.fields.values()
                if f.relationship_name and f.relationship_name.lower() == lowered
            ),
            None,
        )


# Picklist values of standard Opportunity fields (the org defaults).
OPPORTUNITY_TYPES = (
    "New Customer",
    "Existing Customer - Upgrade",
    "Existing Customer - Replacement",
    "Existing Customer - Downgrade",
    "Renewal",
)
LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
FORECAST_CATEGORY_NAMES = ("Omitted", "Pipeline", "Best Case", "Commit", "Closed")
# ForecastCategoryName (label) -> ForecastCategory (API value).
FORECAST_CATEGORY_API = {
    "Omitted": "Omitted",
    "Pipeline": "Pipeline",
    "Best Case": "BestCase",
    "Commit": "Forecast",
    "Closed": "Closed",
}
CUSTOM_FIELD_TYPES = frozenset(
    {
        "string",
        "textarea",
        "boolean",
        "date",
        "datetime",
        "double",
        "currency",
        "percent",
        "int",
        "picklist",
    }
)
_CUSTOM_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}__c$")
_CUSTOM_TYPE_ALIASES = {"checkbox": "boolean", "text": "string", "number": "double"}


def _f(name: str, type_: str, label: str = "", **kw: object) -> FieldDef:
    """A FieldDef with a label derived from the name when none is given."""
    return FieldDef(name=name, type=type_, label=label or name, **kw)  # type: ignore[arg-type]


def _ref(name: str, target: str, relationship: str | None, label: str, **kw: object) -> FieldDef:
    """A reference field (18-character id) to `target`."""
    return _f(
        name,
        "reference",
        label,
        reference_to=target,
        relationship_name=relationship,
        length=18,
        **kw,
    )


def _audit_fields() -> list[FieldDef]:
    """The created/modified stamps every object has."""
    return [
        _ref("CreatedById", "User", "CreatedBy", "Created By ID", nillable=False),
        _f("CreatedDate", "datetime", "Created Date", nillable=False),
        _ref("LastModifiedById", "User", "LastModifiedBy", "Last Modified By ID", nillable=False),
        _f("LastModifiedDate", "datetime", "Last Modified Date", nillable=False),
        _f("SystemModstamp", "datetime", "System Modstamp", nillable=False),
    ]


def custom_field(spec: Mapping[str, object]) -> FieldDef:
    """The FieldDef of one `opportunity_custom_fields` entry (`name`, `type`, optional
    `label`, `length`, `values`); raises ValueError on a bad entry."""
    name = spec.get("name")
    if not isinstance(name, str) or not _CUSTOM_NAME.match(name):
        raise ValueError(f"custom field name must be an API name ending in __c, got {name!r}")
    raw_type = spec.get("type")
    type_ = _CUSTOM_TYPE_ALIASES.get(str(raw_type), str(raw_type))
    if type_ not in CUSTOM_FIELD_TYPES:
        raise ValueError(f"unsupported custom field type {raw_type!r}")
    default_length = {"string": 255, "textarea": 32768, "picklist": 255}.get(type_, 0)
    length = spec.get("length", default_length)
    if not isinstance(length, int) or isinstance(length, bool) or length < 0:
        raise ValueError(f"length must be a non-negative integer, got {length!r}")
    values = spec.get("values", ())
    if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
        raise ValueError("values must be a list of strings")
    label = spec.get("label") or name[:-3].replace("_", " ")
    return FieldDef(
        name=name,
        type=type_,
        label=str(label),
        nillable=type_ != "boolean",
        updateable=True,
        createable=True,
        custom=True,
        length=length,
        picklist_values=tuple(values),
    )


def stale_flag_fields() -> list[dict[str, object]]:
    """The flag fields of stale-deals.md, as `opportunity_custom_fields` entries."""
    return [
        {"name": "Pipeline_Stale__c", "type": "boolean", "label": "Pipeline Stale"},
        {
            "name": "Pipeline_Stale_Reason__c",
            "type": "string",
            "length": 255,
            "label": "Pipeline Stale Reason",
        },
        {"name": "Pipeline_Stale_Since__c", "type": "date", "label": "Pipeline Stale Since"},
    ]


def standard_objects(
    *,
    multi_currency: bool,
    custom_fields: Sequence[Mapping[str, object]],
    stage_names: Sequence[str] = (),
    currency_codes: Sequence[str] = ("USD",),
) -> dict[str, ObjectDef]:
    """The sObjects the sandbox serves, keyed by API name: Opportunity (standard fields plus
    `custom_fields`), OpportunityHistory, OpportunityStage, User, Account, and CurrencyType
    in multi-currency orgs (`CurrencyIsoCode` exists only there)."""
    currency = (
        [
            _f(
                "CurrencyIsoCode",
                "picklist",
                "Currency ISO Code",
                nillable=False,
                updateable=True,
                createable=True,
                length=3,
                picklist_values=tuple(currency_codes),
            )
        ]
        if multi_currency
        else []
    )
    stages = tuple(stage_names)
    opportunity = [
        _f("Id", "id", "Opportunity ID", nillable=False, length=18),
        _f("IsDeleted", "boolean", "Deleted", nillable=False),
        _ref("AccountId", "Account", "Account", "Account ID", updateable=True, createable=True),
        _ref(
            "RecordTypeId",
            "RecordType",
            "RecordType",
            "Record Type ID",
            updateable=True,
            createable=True,
        ),
        _f("Name", "string", "Name", nillable=False, updateable=True, createable=True, length=120),
        _f(
            "Description", "textarea", "Description", updateable=True, createable=True, length=32000
        ),
        _f(
            "StageName",
            "picklist",
            "Stage",
            nillable=False,
            updateable=True,
            createable=True,
            length=255,
            picklist_values=stages,
        ),
        _f("Amount", "currency", "Amount", updateable=True, createable=True),
        _f("Probability", "percent", "Probability (%)", updateable=True, createable=True),
        _f("ExpectedRevenue", "currency", "Expected Amount"),
        _f("CloseDate", "date", "Close Date", nillable=False, updateable=True, createable=True),
        _f(
            "Type",
            "picklist",
            "Opportunity Type",
            updateable=True,
            createable=True,
            length=255,
            picklist_values=OPPORTUNITY_TYPES,
        ),
        _f("NextStep", "string", "Next Step", updateable=True, createable=True, length=255),
        _f(
            "LeadSource",
            "picklist",
            "Lead Source",
            updateable=True,
            createable=True,
            length=255,
            picklist_values=LEAD_SOURCES,
        ),
        _f("IsClosed", "boolean", "Closed", nillable=False),
        _f("IsWon", "boolean", "Won", nillable=False),
        _f(
            "ForecastCategory",
            "picklist",
            "Forecast Category",
            nillable=False,
            length=40,
            picklist_values=tuple(FORECAST_CATEGORY_API.values()),
        ),
        _f(
            "ForecastCategoryName",
            "picklist",
            "Forecast Category",
            updateable=True,
            createable=True,
            length=255,
            picklist_values=FORECAST_CATEGORY_NAMES,
        ),
        *currency,
        _ref(
            "OwnerId", "User", "Owner", "Owner ID", nillable=False, updateable=True, createable=True
        ),
        *_audit_fields(),
        _f("LastActivityDate", "date", "Last Activity"),
        _f("LastStageChangeDate", "datetime", "Last Stage Change Date"),
    ]
    opportunity += [custom_field(spec) for spec in custom_fields]
    history = [
        _f("Id", "id", "Opportunity History ID", nillable=False, length=18),
        _ref("OpportunityId", "Opportunity", "Opportunity", "Opportunity ID", nillable=False),
        _ref("CreatedById", "User", "CreatedBy", "Created By ID", nillable=False),
        _f("CreatedDate", "datetime", "Created Date", nillable=False),
        _f(
            "StageName",
            "picklist",
            "Stage Name",
            nillable=False,
            length=255,
            picklist_values=stages,
        ),
        _f("Amount", "currency", "Amount"),
        _f("ExpectedRevenue", "currency", "Expected Revenue"),
        _f("CloseDate", "date", "Close Date"),
        _f("Probability", "percent", "Probability (%)"),
        _f(
            "ForecastCategory",
            "picklist",
            "Forecast Category",
            length=40,
            picklist_values=tuple(FORECAST_CATEGORY_API.values()),
        ),
        _f("PrevAmount", "currency", "Previous Amount"),
        _f("PrevCloseDate", "date", "Previous Close Date"),
        *currency,
        _f("SystemModstamp", "datetime", "System Modstamp", nillable=False),
        _f("IsDeleted", "boolean", "Deleted", nillable=False),
    ]
    stage = [
        _f("Id", "id", "Opportunity Stage ID", nillable=False, length=18),
        _f("MasterLabel", "string", "Master Label", nillable=False, length=255),
        _f("ApiName", "string", "Api Name", nillable=False, length=255),
        _f("IsActive", "boolean", "Is Active", nillable=False),
        _f("SortOrder", "int", "Sort Order"),
        _f("IsClosed", "boolean", "Closed", nillable=False),
        _f("IsWon", "boolean", "Won", nillable=False),
        _f(
            "ForecastCategory",
            "picklist",
            "Forecast Category",
            nillable=False,
            length=40,
            picklist_values=tuple(FORECAST_CATEGORY_API.values()),
        ),
        _f(
            "ForecastCategoryName",
            "picklist",
            "Forecast Category Name",
            length=255,
            picklist_values=FORECAST_CATEGORY_NAMES,
        ),
        _f("DefaultProbability", "percent", "Probability (%)"),
        _f("Description", "string", "Description", length=255),
        *_audit_fields(),
    ]
    user = [
        _f("Id", "id", "User ID", nillable=False, length=18),
        _f("Username", "string", "Username", nillable=False, length=80),
        _f("LastName", "string", "Last Name", nillable=False, length=80),
        _f("FirstName", "string", "First Name", length=40),
        _f("Name", "string", "Full Name", nillable=False, length=121),
        _f("Email", "string", "Email", nillable=False, length=128),
        _f("IsActive", "boolean", "Active", nillable=False),
        _f("UserType", "picklist", "User Type", length=40, picklist_values=("Standard",)),
        _f("Title", "string", "Title", length=80),
        _f("Department", "string", "Department", length=80),
        _ref("ManagerId", "User", "Manager", "Manager ID"),
        _f("TimeZoneSidKey", "picklist", "Time Zone", nillable=False, length=40),
        *_audit_fields(),
    ]
    account = [
        _f("Id", "id", "Account ID", nillable=False, length=18),
        _f("IsDeleted", "boolean", "Deleted", nillable=False),
        _f("Name", "string", "Account Name", nillable=False, length=255),
        _f("Type", "picklist", "Account Type", length=255),
        _f("Industry", "picklist", "Industry", length=255),
        _f("BillingCountry", "string", "Billing Country", length=80),
        _f("NumberOfEmployees", "int", "Employees"),
        *currency,
        _ref("OwnerId", "User", "Owner", "Owner ID", nillable=False),
        *_audit_fields(),
    ]
    objects = {
        "Opportunity": ObjectDef(
            "Opportunity", "Opportunity", "006", {f.name: f for f in opportunity}, updateable=True
        ),
        "OpportunityHistory": ObjectDef(
            "OpportunityHistory", "Opportunity History", "008", {f.name: f for f in history}
        ),
        "OpportunityStage": ObjectDef(
            "OpportunityStage", "Opportunity Stage", "01J", {f.name: f for f in stage}
        ),
        "User": ObjectDef("User", "User", "005", {f.name: f for f in user}),
        "Account": ObjectDef("Account", "Account", "001", {f.name: f for f in account}),
    }
    if multi_currency:
        currency_type = [
            _f("Id", "id", "Currency Type ID", nillable=False, length=18),
            _f("IsoCode", "picklist", "Currency ISO Code", nillable=False, length=3),
            _f("ConversionRate", "double", "Conversion Rate", nillable=False),
            _f("DecimalPlaces", "int", "Decimal Places", nillable=False),
            _f("IsActive", "boolean", "Active", nillable=False),
            _f("IsCorporate", "boolean", "Corporate", nillable=False),
            *_audit_fields(),
        ]
        objects["CurrencyType"] = ObjectDef(
            "CurrencyType", "Currency Type", "02B", {f.name: f for f in currency_type}
        )
    return objects
