"""Raw payloads as JSON text, with exact numbers both ways.

Dumping goes through orjson (six times faster than the standard library here; a JSON number
only for a Decimal a float holds exactly, else exact text; datetimes and other objects as
`str()`, as before; text with non-ASCII characters keeps the standard library's escaped
form, so a payload stored before reads as unchanged). Loading keeps the standard library's
`parse_float=Decimal`: digit for digit, and as fast as orjson plus the Decimal conversion
it would need. Stage-history entries carry text and integers only (ids, stage values, stamps),
so `loads_text_values` reads them with orjson.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import orjson

# Datetimes, dataclasses and subclasses of builtins go through `_default` (str()), exactly
# as the standard library encoder took them; orjson's own renderings would differ.
_DUMP_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATACLASS
)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        as_float = float(value)
        # A number that survives the round trip stays a JSON number; any other stays exact text.
        return as_float if Decimal(repr(as_float)) == value else str(value)
    return str(value)


def dumps(payload: Any) -> str:
    """A payload as compact JSON text (Decimals as numbers when exact, else as text)."""
    try:
        text = orjson.dumps(payload, default=_default, option=_DUMP_OPTIONS).decode()
    except (orjson.JSONEncodeError, TypeError):
        text = None  # integers beyond 64 bits, non-string keys: the standard library takes them
    if text is not None and text.isascii():
        return text
    # The standard library escapes non-ASCII text: keep stored payloads byte-identical.
    return json.dumps(payload, default=_default, separators=(",", ":"))


_DECODER = json.JSONDecoder(parse_float=Decimal)


def loads(text: str) -> Any:
    """JSON text back to a payload, non-integer numbers as Decimal."""
    return _DECODER.decode(text)


def loads_many(texts: Sequence[str]) -> list[Any]:
    """Many JSON texts, each one JSON value as `dumps` writes them, back to payloads (as
    `loads` each) in one decoder call: decoded as the items of one JSON array, which spares
    the per-call overhead. A text that is not one value falls back to `loads`, and its error."""
    if not texts:
        return []
    try:
        payloads = _DECODER.decode("[" + ",".join(texts) + "]")
    except ValueError:
        payloads = None  # a text that is not one JSON value: decode each, for its own error
    if not isinstance(payloads, list) or len(payloads) != len(texts):
        return [loads(text) for text in texts]
    return payloads


def loads_text_values(texts: Sequence[str]) -> list[Any]:
    """Many JSON texts whose numbers are never fractional (stage-history entries) back to
    payloads with orjson, about four times faster than `loads_many`: a fractional number
    would come back a float, not a Decimal. A text that is not JSON raises as in `loads`."""
    if not texts:
        return []
    try:
        payloads = orjson.loads("[" + ",".join(texts) + "]")
    except orjson.JSONDecodeError:
        payloads = None  # decode each with the standard library, for its own error
    if not isinstance(payloads, list) or len(payloads) != len(texts):
        return [loads(text) for text in texts]
    return payloads
