"""Describe JSON: `sobjects/{Object}/describe`, the global `sobjects/` list, and the
object's basic info, rendered from the ObjectDefs the org serves."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.sandbox.salesforce.schema import FieldDef, ObjectDef

_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "string": "xsd:string",
    "textarea": "xsd:string",
    "picklist": "xsd:string",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "double": "xsd:double",
    "int": "xsd:int",
    "boolean": "xsd:boolean",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
}
_PLURALS = {"Opportunity": "Opportunities", "OpportunityHistory": "Opportunity History"}
_CHILDREN = {
    "Opportunity": [("OpportunityHistory", "OpportunityId", "OpportunityHistories")],
    "Account": [("Opportunity", "AccountId", "Opportunities")],
    "User": [("Opportunity", "OwnerId", None)],
}


def _field(fdef: FieldDef) -> dict[str, Any]:
    """One entry of describe's `fields`."""
    text = fdef.type in {"string", "textarea", "picklist", "id", "reference"}
    number = fdef.type in {"currency", "percent", "double"}
    return {
        "aggregatable": fdef.type not in {"textarea"},
        "autoNumber": False,
        "byteLength": fdef.length * 3 if text else 0,
        "calculated": False,
        "caseSensitive": False,
        "createable": fdef.createable,
        "custom": fdef.custom,
        "defaultValue": False if fdef.type == "boolean" else None,
        "defaultedOnCreate": fdef.type == "boolean" or fdef.name in {"Id", "OwnerId"},
        "digits": 9 if fdef.type == "int" else 0,
        "externalId": False,
        "filterable": fdef.type != "textarea",
        "groupable": fdef.type not in {"textarea", "currency", "percent", "double", "datetime"},
        "idLookup": fdef.type == "id",
        "label": fdef.label or fdef.name,
        "length": fdef.length if text else 0,
        "name": fdef.name,
        "nameField": fdef.name == "Name",
        "nillable": fdef.nillable,
        "picklistValues": [
            {
                "active": True,
                "defaultValue": False,
                "label": value,
                "validFor": None,
                "value": value,
            }
            for value in fdef.picklist_values
        ],
        "precision": 18 if number else 0,
        "referenceTo": [fdef.reference_to] if fdef.reference_to else [],
        "relationshipName": fdef.relationship_name,
        "restrictedPicklist": fdef.name in {"ForecastCategoryName", "CurrencyIsoCode"},
        "scale": 2 if fdef.type in {"currency", "percent"} else 0,
        "soapType": _SOAP_TYPES.get(fdef.type, "xsd:string"),
        "sortable": fdef.type != "textarea",
        "type": fdef.type,
        "unique": False,
        "updateable": fdef.updateable,
    }


def _urls(obj: ObjectDef, version: str) -> dict[str, str]:
    """An object's `urls`."""
    base = f"/services/data/v{version}/sobjects/{obj.name}"
    return {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}


def summary(obj: ObjectDef, version: str) -> dict[str, Any]:
    """An object as the global describe lists it."""
    return {
        "activateable": False,
        "createable": obj.updateable,
        "custom": False,
        "customSetting": False,
        "deletable": obj.updateable,
        "deprecatedAndHidden": False,
        "feedEnabled": False,
        "keyPrefix": obj.key_prefix,
        "label": obj.label,
        "labelPlural": _PLURALS.get(obj.name, obj.label + "s"),
        "layoutable": obj.updateable,
        "mergeable": False,
        "mruEnabled": obj.updateable,
        "name": obj.name,
        "queryable": True,
        "replicateable": True,
        "retrieveable": True,
        "searchable": obj.updateable,
        "triggerable": obj.updateable,
        "undeletable": obj.updateable,
        "updateable": obj.updateable,
        "urls": _urls(obj, version),
    }


def describe(obj: ObjectDef, objects: Mapping[str, ObjectDef], version: str) -> dict[str, Any]:
    """`GET sobjects/{Object}/describe`."""
    children = [
        {
            "cascadeDelete": child == "OpportunityHistory",
            "childSObject": child,
            "field": field,
            "relationshipName": name,
            "restrictedDelete": False,
        }
        for child, field, name in _CHILDREN.get(obj.name, [])
        if child in objects
    ]
    return {
        **summary(obj, version),
        "childRelationships": children,
        "fields": [_field(f) for f in obj.fields.values()],
        "recordTypeInfos": [
            {
                "active": True,
                "available": True,
                "defaultRecordTypeMapping": True,
                "developerName": "Master",
                "master": True,
                "name": "Master",
                "recordTypeId": "012000000000000AAA",
                "urls": {
                    "layout": f"/services/data/v{version}/sobjects/{obj.name}/describe/layouts/"
                    "012000000000000AAA"
                },
            }
        ]
        if obj.updateable
        else [],
        "supportedScopes": [{"label": "All", "name": "everything"}],
    }


def describe_global(objects: Mapping[str, ObjectDef], version: str) -> dict[str, Any]:
    """`GET sobjects/`."""
    return {
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": [summary(obj, version) for obj in objects.values()],
    }
