"""Exact money arithmetic for metrics: Decimal sums, means and percentiles, float at the edge.

Amounts arrive as Arrow decimals; pandas would turn them into floats (or raise) in `mean`,
`median` and `quantile`, so every money aggregate is computed here on `Decimal`s under a wide
context and only the final figure becomes a float.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable, Sequence
from decimal import Decimal

_CONTEXT = decimal.Context(prec=80)


def exact_sum(values: Iterable[Decimal]) -> Decimal:
    """Sum of Decimals without rounding (sum of nothing is 0)."""
    with decimal.localcontext(_CONTEXT):  # one C-level sum, same context as _CONTEXT.add
        return sum(values, Decimal(0))


def exact_product(left: Decimal, right: Decimal) -> Decimal:
    """Product of two Decimals without rounding."""
    return _CONTEXT.multiply(left, right)


def ratio(numerator: Decimal | float | None, denominator: Decimal | float | None) -> float | None:
    """numerator / denominator as a float; None when either is None or the denominator is 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    if isinstance(numerator, Decimal) or isinstance(denominator, Decimal):
        return float(_CONTEXT.divide(Decimal(numerator), Decimal(denominator)))
    return float(numerator) / float(denominator)


def exact_mean(values: Sequence[Decimal]) -> Decimal | None:
    """Mean of Decimals (to 40 significant digits); None for no values."""
    if not values:
        return None
    return _CONTEXT.divide(exact_sum(values), Decimal(len(values)))


def percentile_cont(values: Sequence[Decimal], q: Decimal) -> Decimal | None:
    """Percentile with linear interpolation, as PostgreSQL's percentile_cont; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = _CONTEXT.multiply(q, Decimal(len(ordered) - 1))
    low = int(position)
    fraction = _CONTEXT.subtract(position, Decimal(low))
    if fraction == 0:
        return ordered[low]
    step = _CONTEXT.subtract(ordered[low + 1], ordered[low])
    return _CONTEXT.add(ordered[low], _CONTEXT.multiply(step, fraction))


def money_text(value: Decimal) -> str:
    """Exact decimal text without trailing zeros, e.g. Decimal('140.000000') -> '140'."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
