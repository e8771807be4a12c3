"""Salesforce object definitions the sandbox serves: fields, types, relationships.

Shared by the SOQL engine (field validation, relationship paths), describe, and writes.
A record in the sandbox is a dict of field API name to a typed Python value:
str, bool, int, float (currency, percent, double), `datetime.date` (date), timezone-aware
`datetime` (datetime), or None.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Salesforce field types (describe's `type`).
FIELD_TYPES = frozenset(
    {"id", "string", "picklist", "currency", "percent", "date", "datetime", "boolean",
     "reference", "double", "int", "textarea"}
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
            (f for f in self.fields.values()
             if f.relationship_name and f.relationship_name.lower() == lowered),
            None,
        )
