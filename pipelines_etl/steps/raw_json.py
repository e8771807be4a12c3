"""Raw payloads as JSON text, with exact numbers both ways."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        as_float = float(value)
        # A number that survives the round trip stays a JSON number; any other stays exact text.
        return as_float if Decimal(repr(as_float)) == value else str(value)
    return str(value)


def dumps(payload: Any) -> str:
    """A payload as compact JSON text (Decimals as numbers when exact, else as text)."""
    return json.dumps(payload, default=_default, separators=(",", ":"))


def loads(text: str) -> Any:
    """JSON text back to a payload, non-integer numbers as Decimal."""
    return json.loads(text, parse_float=Decimal)
