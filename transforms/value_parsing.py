"""Vectorised parsing of the CRMs' text values (decimals, timestamps, dates, booleans).

Every parser returns the parsed column and a boolean `invalid` mask: True where the input
held a non-blank value that could not be parsed, so callers can quarantine those records
instead of silently loading NULL. Blank strings count as missing, not invalid.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from transforms.dtypes import DATE, TIMESTAMP

_PLAIN_DECIMAL = r"[+-]?(?:\d{1,30}(?:\.\d*)?|\.\d+)"
_EXPONENT_DECIMAL = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)[eE][+-]?\d{1,3}"
_TRUE_TEXT = ("true", "1", "yes", "t", "y")
_FALSE_TEXT = ("false", "0", "no", "f", "n")


@dataclass(frozen=True)
class Parsed:
    """A parsed column and the mask of its unparseable (non-blank) inputs."""

    values: pd.Series
    invalid: pd.Series


def as_text(values: pd.Series) -> pd.Series:
    """Values as stripped `str`, with blank strings as missing (the CRMs send "" for empty)."""
    text = values.astype("str").str.strip()
    return text.where(text != "")


def parse_decimal(values: pd.Series, *, precision: int, scale: int) -> Parsed:
    """Decimal text to an exact Arrow decimal(precision, scale), rounding half-even.

    Handles arbitrarily long fractions (HubSpot's float expansions) without float: digits
    past scale+1 collapse into one sticky digit, so half-even ties stay exact. Values with
    an exponent ("1.5E3") are rare and parsed one by one; out-of-range values are invalid.
    """
    text = as_text(values)
    present = text.notna()
    plain = text.str.fullmatch(_PLAIN_DECIMAL).fillna(False).astype(bool) & present
    exponent = text.str.fullmatch(_EXPONENT_DECIMAL).fillna(False).astype(bool) & present
    work_scale = scale + 2
    work_type = pa.decimal128(38, work_scale)

    plain_text = text.where(plain)
    keep = scale + 1
    tail_nonzero = plain_text.str.contains(rf"\.\d{{{keep}}}\d*[1-9]").fillna(False).astype(bool)
    cut = plain_text.str.replace(rf"(\.\d{{{keep}}})\d+$", r"\1", regex=True)
    cut = cut.where(~tail_nonzero, cut + "1")
    work = pc.cast(pa.array(cut, type=pa.string(), from_pandas=True), work_type)

    if exponent.any():
        work = _merge_exponent_values(work, text, exponent, scale=scale)

    rounded = pc.round(work, ndigits=scale, round_mode="half_to_even")
    limit = pa.scalar(Decimal(10) ** (precision - scale), work_type)
    fits = pc.fill_null(pc.less(pc.abs(rounded), limit), True)
    rounded = pc.if_else(fits, rounded, pa.scalar(None, work_type))
    out = pc.cast(rounded, pa.decimal128(precision, scale))
    parsed = pd.Series(out, index=values.index, dtype=pd.ArrowDtype(out.type))
    invalid = present & parsed.isna()
    return Parsed(values=parsed, invalid=invalid.astype(bool))


def _merge_exponent_values(
    work: pa.Array, text: pd.Series, exponent: pd.Series, *, scale: int
) -> pa.Array:
    """Fill the rare exponent-notation rows with Decimal parsing (not a hot path).

    Each value is rounded half-even straight to the final `scale`, so the later rounding of
    the whole column leaves it unchanged (no double rounding).
    """
    quantum = Decimal(1).scaleb(-scale)
    values = work.to_pylist()
    for position in np.flatnonzero(exponent.to_numpy()):
        try:
            number = Decimal(str(text.iloc[position]))
            if abs(number) < Decimal(10) ** 20:
                values[position] = number.quantize(quantum, rounding=ROUND_HALF_EVEN)
        except InvalidOperation:
            values[position] = None
    return pa.array(values, type=work.type)


def parse_timestamp(values: pd.Series) -> Parsed:
    """ISO-8601 text (`...000+0000`, `...Z`, plain dates) to datetime64[us, UTC]."""
    text = as_text(values) if not isinstance(values.dtype, pd.DatetimeTZDtype) else values
    parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    parsed = pd.Series(parsed, index=values.index).astype(TIMESTAMP)
    invalid = text.notna() & parsed.isna()
    return Parsed(values=parsed, invalid=invalid.astype(bool))


def parse_date(values: pd.Series) -> Parsed:
    """ISO date or datetime text to an Arrow date32 column (the UTC calendar date)."""
    stamps = parse_timestamp(values)
    return Parsed(values=timestamps_to_dates(stamps.values), invalid=stamps.invalid)


def timestamps_to_dates(stamps: pd.Series) -> pd.Series:
    """UTC timestamps to their UTC calendar dates (Arrow date32)."""
    dates = pc.cast(pa.array(stamps.astype(TIMESTAMP), from_pandas=True), pa.date32())
    return pd.Series(dates, index=stamps.index, dtype=DATE)


def dates_to_timestamps(dates: pd.Series) -> pd.Series:
    """Arrow dates to 00:00 UTC timestamps on that date."""
    stamps = pc.cast(pa.array(dates, type=pa.date32(), from_pandas=True), pa.timestamp("us"))
    naive = pd.Series(stamps, index=dates.index, dtype=pd.ArrowDtype(pa.timestamp("us")))
    return naive.astype("datetime64[us]").dt.tz_localize("UTC")


def parse_bool(values: pd.Series) -> pd.Series:
    """Booleans or "true"/"false" text to a nullable boolean column (NA when unknown)."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("boolean")
    text = values.astype("str").str.strip().str.lower()
    result = pd.Series(pd.NA, index=values.index, dtype="boolean")
    result[text.isin(_TRUE_TEXT)] = True
    result[text.isin(_FALSE_TEXT)] = False
    return result
