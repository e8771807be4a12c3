"""The portal's deal property definitions and its default pipelines, as a fresh portal has them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PROPERTY_TYPES = frozenset({"string", "number", "date", "datetime", "enumeration", "bool"})
FIELD_TYPES = frozenset(
    {
        "text",
        "textarea",
        "number",
        "date",
        "select",
        "radio",
        "checkbox",
        "booleancheckbox",
        "file",
        "calculation_equation",
        "html",
        "phonenumber",
    }
)
# Which fieldTypes each type accepts (a mismatch is a 400 on property create).
FIELD_TYPES_BY_TYPE: dict[str, frozenset[str]] = {
    "string": frozenset({"text", "textarea", "file", "html", "phonenumber"}),
    "number": frozenset({"number", "calculation_equation"}),
    "date": frozenset({"date"}),
    "datetime": frozenset({"date"}),
    "enumeration": frozenset({"select", "radio", "checkbox", "booleancheckbox"}),
    "bool": frozenset({"booleancheckbox", "radio", "select"}),
}
PORTAL_CREATED_AT = "2020-01-01T00:00:00.000Z"
BOOL_OPTIONS: list[dict[str, Any]] = [
    {"label": "Yes", "value": "true", "displayOrder": 0, "hidden": False},
    {"label": "No", "value": "false", "displayOrder": 1, "hidden": False},
]


@dataclass
class PropertyDef:
    """One deal property definition."""

    name: str
    label: str
    type: str
    field_type: str
    group: str = "dealinformation"
    read_only: bool = False  # readOnlyValue: the API refuses writes
    calculated: bool = False
    hubspot_defined: bool = True
    options: list[dict[str, Any]] = field(default_factory=list)
    description: str = ""
    created_at: str = PORTAL_CREATED_AT

    def to_json(self) -> dict[str, Any]:
        """The property as `GET /crm/v3/properties/deals` shows it."""
        payload: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "description": self.description,
            "groupName": self.group,
            "options": self.options,
            "displayOrder": -1,
            "calculated": self.calculated,
            "externalOptions": False,
            "hasUniqueValue": False,
            "hidden": False,
            "formField": not self.read_only,
            "modificationMetadata": {
                "archivable": not self.hubspot_defined,
                "readOnlyDefinition": self.hubspot_defined,
                "readOnlyValue": self.read_only,
            },
            "createdAt": self.created_at,
            "updatedAt": self.created_at,
            "archived": False,
        }
        if self.hubspot_defined:
            payload["hubspotDefined"] = True
        return payload


# name, label, type, fieldType, read-only, calculated
_STANDARD: tuple[tuple[str, str, str, str, bool, bool], ...] = (
    ("dealname", "Deal Name", "string", "text", False, False),
    ("amount", "Amount", "number", "number", False, False),
    ("dealstage", "Deal Stage", "enumeration", "radio", False, False),
    ("pipeline", "Pipeline", "enumeration", "select", False, False),
    ("closedate", "Close Date", "datetime", "date", False, False),
    ("createdate", "Create Date", "datetime", "date", False, False),
    ("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", True, False),
    ("hs_object_id", "Record ID", "number", "number", True, False),
    ("hubspot_owner_id", "Deal owner", "enumeration", "select", False, False),
    ("dealtype", "Deal Type", "enumeration", "radio", False, False),
    ("deal_currency_code", "Currency", "enumeration", "select", False, False),
    ("description", "Deal Description", "string", "textarea", False, False),
    ("hs_priority", "Priority", "enumeration", "select", False, False),
    ("closed_lost_reason", "Closed Lost Reason", "string", "textarea", False, False),
    ("closed_won_reason", "Closed Won Reason", "string", "textarea", False, False),
    ("notes_last_updated", "Last Activity Date", "datetime", "date", True, False),
    ("notes_last_contacted", "Last Contacted", "datetime", "date", True, False),
    ("notes_next_activity_date", "Next Activity Date", "datetime", "date", True, False),
    ("hs_last_sales_activity_timestamp", "Last Engagement Date", "datetime", "date", True, False),
    ("hs_analytics_source", "Original Source Type", "enumeration", "select", True, False),
    ("hs_is_closed", "Is Deal Closed?", "bool", "booleancheckbox", True, True),
    ("hs_is_closed_won", "Is Closed Won", "bool", "booleancheckbox", True, True),
    ("hs_is_closed_lost", "Is Closed Lost", "bool", "booleancheckbox", True, True),
    ("hs_deal_stage_probability", "Deal probability", "number", "number", True, True),
    ("hs_forecast_amount", "Forecast amount", "number", "calculation_equation", True, True),
    ("hs_forecast_probability", "Forecast probability", "number", "number", False, False),
    ("hs_manual_forecast_category", "Forecast category", "enumeration", "select", False, False),
    ("hs_closed_amount", "Closed Deal Amount", "number", "calculation_equation", True, True),
    ("hs_next_step", "Next step", "string", "textarea", False, False),
    ("num_associated_contacts", "Number of Contacts", "number", "number", True, True),
)
_ENUM_OPTIONS: dict[str, tuple[str, ...]] = {
    "dealtype": ("newbusiness", "existingbusiness"),
    "deal_currency_code": ("USD", "EUR", "GBP", "CAD", "AUD", "JPY", "CHF"),
    "hs_priority": ("low", "medium", "high"),
    "hs_analytics_source": (
        "ORGANIC_SEARCH",
        "PAID_SEARCH",
        "EMAIL_MARKETING",
        "SOCIAL_MEDIA",
        "REFERRALS",
        "OTHER_CAMPAIGNS",
        "DIRECT_TRAFFIC",
        "OFFLINE",
    ),
    "hs_manual_forecast_category": ("OMIT", "PIPELINE", "BEST_CASE", "COMMIT", "CLOSED"),
}
# The flag properties of stale-deals.md, present in generated portals.
FLAG_PROPERTIES: tuple[tuple[str, str, str, str], ...] = (
    ("pipeline_stale", "Pipeline stale", "bool", "booleancheckbox"),
    ("pipeline_stale_reason", "Pipeline stale reason", "string", "text"),
    ("pipeline_stale_since", "Pipeline stale since", "date", "date"),
)


def _options(values: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        {"label": value, "value": value, "displayOrder": index, "hidden": False}
        for index, value in enumerate(values)
    ]


def custom_property(
    *,
    name: str,
    label: str,
    type_: str,
    field_type: str,
    group: str = "dealinformation",
    options: list[dict[str, Any]] | None = None,
    created_at: str = PORTAL_CREATED_AT,
) -> PropertyDef:
    """A portal-defined (custom) property."""
    chosen = options if options is not None else (list(BOOL_OPTIONS) if type_ == "bool" else [])
    return PropertyDef(
        name=name,
        label=label,
        type=type_,
        field_type=field_type,
        group=group,
        hubspot_defined=False,
        options=chosen,
        created_at=created_at,
    )


def standard_properties(pipelines: list[dict[str, Any]]) -> dict[str, PropertyDef]:
    """Every standard deal property, including the stage-date pair of each stage of `pipelines`."""
    props: dict[str, PropertyDef] = {}
    for name, label, type_, field_type, read_only, calculated in _STANDARD:
        options = list(BOOL_OPTIONS) if type_ == "bool" else _options(_ENUM_OPTIONS.get(name, ()))
        props[name] = PropertyDef(
            name,
            label,
            type_,
            field_type,
            read_only=read_only,
            calculated=calculated,
            options=options,
        )
    props["pipeline"].options = _options(tuple(p["id"] for p in pipelines))
    stage_ids = tuple(s["id"] for p in pipelines for s in p["stages"])
    props["dealstage"].options = _options(stage_ids)
    for stage_id in stage_ids:
        for prefix, label in (
            ("hs_v2_date_entered_", "Date entered"),
            ("hs_v2_date_exited_", "Date exited"),
            ("hs_date_entered_", "Date entered"),
            ("hs_date_exited_", "Date exited"),
        ):
            name = prefix + stage_id
            props[name] = PropertyDef(
                name, f"{label} {stage_id}", "datetime", "date", read_only=True, calculated=True
            )
    return props


def _stage(stage_id: str, label: str, order: int, probability: str, closed: bool) -> dict[str, Any]:
    return {
        "id": stage_id,
        "label": label,
        "displayOrder": order,
        "metadata": {"isClosed": "true" if closed else "false", "probability": probability},
    }


def default_pipeline() -> dict[str, Any]:
    """The `default` Sales Pipeline of every portal (crm-apis.md B4)."""
    return {
        "id": "default",
        "label": "Sales Pipeline",
        "displayOrder": 0,
        "stages": [
            _stage("appointmentscheduled", "Appointment Scheduled", 0, "0.2", False),
            _stage("qualifiedtobuy", "Qualified To Buy", 1, "0.4", False),
            _stage("presentationscheduled", "Presentation Scheduled", 2, "0.6", False),
            _stage("decisionmakerboughtin", "Decision Maker Bought-In", 3, "0.8", False),
            _stage("contractsent", "Contract Sent", 4, "0.9", False),
            _stage("closedwon", "Closed Won", 5, "1.0", True),
            _stage("closedlost", "Closed Lost", 6, "0.0", True),
        ],
    }


def renewals_pipeline() -> dict[str, Any]:
    """A second pipeline for renewals (generated portals), with numeric-looking stage ids."""
    return {
        "id": "renewals",
        "label": "Renewals",
        "displayOrder": 1,
        "stages": [
            _stage("renewal_upcoming", "Renewal Upcoming", 0, "0.5", False),
            _stage("renewal_in_negotiation", "In Negotiation", 1, "0.75", False),
            _stage("renewal_won", "Renewed", 2, "1.0", True),
            _stage("renewal_lost", "Churned", 3, "0.0", True),
        ],
    }
