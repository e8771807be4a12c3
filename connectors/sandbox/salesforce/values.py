"""Typed field values <-> Salesforce's wire formats (REST JSON, Bulk CSV, fixture JSON).

Records hold typed values (see schema.py); this module turns them into the text the APIs send
and parses what clients and fixtures send, checking the field's type.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from connectors.sandbox.salesforce.schema import FieldDef

_NUMERIC = frozenset({"currency", "percent", "double"})
_TEXT = frozenset({"string", "textarea", "picklist", "id", "reference"})
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$"
)


class ValueTypeError(ValueError):
    """A value that does not fit its field's type (message says how)."""


def format_datetime(value: datetime) -> str:
    """REST JSON datetime: `2024-05-01T12:00:00.000+0000`."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def format_datetime_csv(value: datetime) -> str:
    """Bulk CSV datetime: `2024-05-01T12:00:00.000Z`."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse_datetime(text: str) -> datetime:
    """A Salesforce datetime text (`...000+0000`, `...Z`, `+00:00`) as an aware UTC datetime."""
    match = _DATETIME.match(text)
    if not match:
        raise ValueTypeError(f"'{text}' is not a valid datetime")
    day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    zone = "+00:00" if zone == "Z" else zone if ":" in zone else f"{zone[:3]}:{zone[3:]}"
    try:
        parsed = datetime.fromisoformat(f"{day}T{hour}:{minute}:{second}.{micro:06d}{zone}")
    except ValueError as exc:
        raise ValueTypeError(f"'{text}' is not a valid datetime") from exc
    return parsed.astimezone(UTC)


def parse_date(text: str) -> date:
    """A `YYYY-MM-DD` text as a date."""
    if not _DATE.match(text):
        raise ValueTypeError(f"'{text}' is not a valid date")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValueTypeError(f"'{text}' is not a valid date") from exc


def json_value(value: Any) -> Any:
    """A typed value as REST JSON shows it."""
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def csv_value(value: Any) -> str:
    """A typed value as a Bulk 2.0 CSV field (empty for null)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_datetime_csv(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def from_json(field: FieldDef, value: Any) -> Any:
    """A JSON value sent for `field` (REST writes, fixtures) as a typed value; raises
    ValueTypeError when it does not fit the type."""
    if value is None:
        return None
    kind = field.type
    if kind == "boolean":
        if not isinstance(value, bool):
            raise ValueTypeError(f"Cannot deserialize instance of boolean from value {value!r}")
        return value
    if kind in _NUMERIC:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueTypeError(f"Cannot deserialize instance of double from value {value!r}")
        return float(value)
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            raise ValueTypeError(f"Cannot deserialize instance of int from value {value!r}")
        return int(value)
    if not isinstance(value, str):
        raise ValueTypeError(f"Cannot deserialize instance of {kind} from value {value!r}")
    if kind == "date":
        return parse_date(value)
    if kind == "datetime":
        return parse_datetime(value)
    return value


def from_csv(field: FieldDef, text: str) -> Any:
    """A Bulk CSV text for `field` as a typed value (`#N/A` is null); raises ValueTypeError."""
    if text == "#N/A":
        return None
    kind = field.type
    if kind == "boolean":
        lowered = text.strip().lower()
        if lowered in {"true", "1", "yes"}:
            return True
        if lowered in {"false", "0", "no"}:
            return False
        raise ValueTypeError(f"'{text}' is not a valid value for the type xsd:boolean")
    if kind in _NUMERIC or kind == "int":
        try:
            number = float(text)
        except ValueError:
            raise ValueTypeError(f"'{text}' is not a valid value for the type xsd:double") from None
        if kind == "int":
            if number != int(number):
                raise ValueTypeError(f"'{text}' is not a valid value for the type xsd:int")
            return int(number)
        return number
    if kind == "date":
        return parse_date(text.strip())
    if kind == "datetime":
        return parse_datetime(text.strip())
    return text
