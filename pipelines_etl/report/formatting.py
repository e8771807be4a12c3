"""How figures read in the report: thousands separators, currency code, percentages, "—"."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from transforms.stages import STAGE_NAMES

Format = Literal["money", "money_compact", "percent", "days", "count", "ratio", "per_day", "stage"]
MISSING = "—"


def _number(value: Decimal | float | int) -> float:
    return float(value)


def money(value: Decimal | float | int | None, *, currency: str) -> str:
    """'USD 12,346' (whole units), '—' when undefined."""
    if value is None:
        return MISSING
    return f"{currency} {_number(value):,.0f}"


def money_compact(value: Decimal | float | int | None, *, currency: str) -> str:
    """Short money for chart labels: 'USD 950', 'USD 45.2k', 'USD 1.25M'."""
    if value is None:
        return MISSING
    number = _number(value)
    size = abs(number)
    if size >= 1_000_000_000:
        return f"{currency} {number / 1_000_000_000:,.2f}B"
    if size >= 1_000_000:
        return f"{currency} {number / 1_000_000:,.2f}M"
    if size >= 10_000:
        return f"{currency} {number / 1_000:,.1f}k"
    return f"{currency} {number:,.0f}"


def percent(value: float | None) -> str:
    """A 0-1 ratio as '62.5%'."""
    return MISSING if value is None else f"{_number(value) * 100:,.1f}%"


def days(value: float | None) -> str:
    """Fractional days as '40.0 days'."""
    return MISSING if value is None else f"{_number(value):,.1f} days"


def count(value: int | float | None) -> str:
    """A count with thousands separators."""
    return MISSING if value is None else f"{round(_number(value)):,}"


def ratio(value: float | None) -> str:
    """A multiple such as pipeline coverage: '2.35\u00d7'."""
    return MISSING if value is None else f"{_number(value):,.2f}\u00d7"


def per_day(value: float | None, *, currency: str) -> str:
    """Currency per day, e.g. pipeline velocity: 'USD 2.50/day'."""
    if value is None:
        return MISSING
    digits = 0 if abs(value) >= 100 else 2
    return f"{currency} {_number(value):,.{digits}f}/day"


def stage(value: int | None) -> str:
    """A canonical stage as '4 · Proposal'."""
    if value is None:
        return MISSING
    return f"{int(value)} · {STAGE_NAMES.get(int(value), 'unknown')}"


def format_value(value: object, fmt: Format, *, currency: str) -> str:
    """The text of one figure in the given format."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        raise TypeError(f"a boolean is not a figure: {value!r}")
    if not isinstance(value, Decimal | float | int):
        raise TypeError(f"not a number: {value!r}")
    match fmt:
        case "money":
            return money(value, currency=currency)
        case "money_compact":
            return money_compact(value, currency=currency)
        case "percent":
            return percent(float(value))
        case "days":
            return days(float(value))
        case "count":
            return count(value)
        case "ratio":
            return ratio(float(value))
        case "per_day":
            return per_day(float(value), currency=currency)
        case "stage":
            return stage(int(value))
    raise ValueError(f"unknown format {fmt!r}")
