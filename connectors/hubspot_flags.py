"""Flag writes to HubSpot: value encoding and isolating bad records by halving. Pure.

HubSpot batch update takes 100 inputs and may reject a whole batch (400) for one bad input;
a rejected batch is split in halves, recursively, until each bad record stands alone and gets
its own failed `WriteResult` with HubSpot's message. Values: bools as "true"/"false", dates
as `YYYY-MM-DD` (HubSpot date properties take midnight UTC only), None clears ("").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from connectors.base import FlagUpdate, WriteResult


class BatchRejected(Exception):
    """The whole batch was refused (400 and the like): split it to find the bad records."""

    def __init__(self, message: str, *, retriable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.retriable = retriable


@dataclass(frozen=True)
class BatchInput:
    """One record of a batch update: the deal id and its encoded properties."""

    source_id: str
    properties: Mapping[str, str]

    def as_json(self) -> dict[str, Any]:
        """The batch update input shape."""
        return {"id": self.source_id, "properties": dict(self.properties)}


def encode_bool(value: Any) -> str:
    """A flag as HubSpot's bool text; None clears it."""
    if value is None:
        return ""
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in {"true", "false", ""}:
            return lowered
        raise ValueError(f"not a boolean: {value!r}")
    return "true" if bool(value) else "false"


def encode_date(value: Any) -> str:
    """A date as `YYYY-MM-DD` (midnight UTC for HubSpot); datetimes by their UTC date."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime for a date property: {value!r}")
        return value.astimezone(UTC).date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        text = value.strip()
        if len(text) >= 10:
            return date.fromisoformat(text[:10]).isoformat()
    raise ValueError(f"not a date: {value!r}")


def encode_text(value: Any) -> str:
    """A text flag value; None clears it."""
    return "" if value is None else str(value)


# Names a caller may use for each flag, besides its configured property name.
_ALIASES: Mapping[str, tuple[str, ...]] = {
    "flag_stale": ("flag_stale", "flagged", "stale"),
    "flag_reason": ("flag_reason", "reason"),
    "flag_since": ("flag_since", "since"),
}
_ENCODERS: Mapping[str, Callable[[Any], str]] = {
    "flag_stale": encode_bool,
    "flag_reason": encode_text,
    "flag_since": encode_date,
}


def encode_update(update: FlagUpdate, *, flag_properties: Mapping[str, str]) -> BatchInput:
    """A FlagUpdate as batch input; keys: flag meanings (flagged/reason/since) or property names.

    Raises ValueError for any other field: the toolkit never writes anything but its flags.
    """
    by_name = {alias: neutral for neutral, names in _ALIASES.items() for alias in names}
    by_name.update({prop: neutral for neutral, prop in flag_properties.items()})
    properties: dict[str, str] = {}
    for key, value in update.fields.items():
        neutral = by_name.get(key)
        if neutral is None:
            raise ValueError(
                f"refusing to write {key!r} on deal {update.source_id}: only the flag "
                f"properties {', '.join(flag_properties.values())} are ever written"
            )
        properties[flag_properties[neutral]] = _ENCODERS[neutral](value)
    return BatchInput(update.source_id, properties)


def write_in_halves(
    inputs: Sequence[BatchInput],
    send: Callable[[Sequence[BatchInput]], Mapping[str, str | None]],
) -> list[WriteResult]:
    """Send one batch; when HubSpot rejects it whole, split it in halves until isolated.

    `send` returns id -> error (None on success) for a batch HubSpot accepted (207 partial
    errors included), or raises BatchRejected. Results come back in input order.
    """
    if not inputs:
        return []
    try:
        outcome = send(inputs)
    except BatchRejected as exc:
        if len(inputs) == 1:
            return [WriteResult(inputs[0].source_id, False, exc.message, retriable=exc.retriable)]
        middle = len(inputs) // 2
        return write_in_halves(inputs[:middle], send) + write_in_halves(inputs[middle:], send)
    results = []
    for item in inputs:
        error = outcome.get(item.source_id)
        results.append(WriteResult(item.source_id, error is None, error, retriable=False))
    return results


# What `crm setup` creates for each flag (stale-deals.md): type and fieldType per property.
FLAG_PROPERTY_TYPES: Mapping[str, tuple[str, str, str]] = {
    "flag_stale": ("bool", "booleancheckbox", "Pipeline stale"),
    "flag_reason": ("string", "text", "Pipeline stale reason"),
    "flag_since": ("date", "date", "Pipeline stale since"),
}


def flag_property_spec(neutral: str, name: str) -> dict[str, Any]:
    """The properties API body that creates one flag property called `name`."""
    type_, field_type, label = FLAG_PROPERTY_TYPES[neutral]
    spec: dict[str, Any] = {
        "name": name,
        "label": label,
        "type": type_,
        "fieldType": field_type,
        "groupName": "dealinformation",
        "description": "Set by pipelines-etl when the deal is stale (stale-deals.md).",
    }
    if type_ == "bool":
        spec["options"] = [
            {"label": "Yes", "value": "true", "displayOrder": 0, "hidden": False},
            {"label": "No", "value": "false", "displayOrder": 1, "hidden": False},
        ]
    return spec


def missing_scopes(body: Mapping[str, Any]) -> list[str]:
    """The scopes a 403 MISSING_SCOPES body says the private app lacks (empty when none)."""
    if body.get("category") != "MISSING_SCOPES":
        return []
    scopes: list[str] = []
    for error in body.get("errors") or []:
        context = error.get("context") if isinstance(error, Mapping) else None
        for key in ("requiredGranularScopes", "requiredScopes"):
            for scope in (context or {}).get(key) or []:
                if str(scope) not in scopes:
                    scopes.append(str(scope))
    return scopes
