"""Turn pandas frames into rows of plain Python values that the warehouse types accept.

Arrow decimals become `Decimal`, integer minor-unit columns become `Decimal` at their scale,
timezone-aware timestamps become UTC `datetime`, and every kind of missing value (None, NaN,
NaT, pd.NA) becomes None. Naive timestamps are refused: their zone would be a guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa


def _plain(value: Any, column: str) -> Any:
    """One non-missing value as a plain Python object."""
    if isinstance(value, pd.Timestamp):
        if value.tzinfo is None:
            raise ValueError(f"column {column!r} holds a naive timestamp {value}; localize it")
        if value.nanosecond:
            raise ValueError(f"column {column!r} holds nanoseconds ({value}); round to micro")
        return value.to_pydatetime().astimezone(UTC)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"column {column!r} holds a naive datetime {value}; localize it")
        return value.astimezone(UTC)
    if isinstance(value, np.generic):
        return value.item()
    return value


def _column_values(series: pd.Series, column: str) -> list[Any]:
    """A column as a list of plain values, None for missing ones."""
    dtype = series.dtype
    if isinstance(dtype, pd.ArrowDtype):
        # Arrow converts decimals to Decimal and nulls to None without a float detour.
        values = pa.array(series.array).to_pylist()
    elif isinstance(dtype, pd.DatetimeTZDtype):
        values = list(series.dt.tz_convert("UTC").astype(object))
    elif pd.api.types.is_datetime64_dtype(dtype):
        raise ValueError(f"column {column!r} holds naive timestamps; localize it to UTC")
    else:
        values = series.astype(object).tolist()
    missing = pd.isna(pd.Series(values, dtype=object)).tolist() if values else []
    return [
        None if gone else _plain(value, column) for value, gone in zip(values, missing, strict=True)
    ]


def _scale_minor_units(values: list[Any], column: str, places: int) -> list[Any]:
    """Integer minor units (e.g. cents) to exact Decimals with `places` decimals."""
    scaled: list[Any] = []
    for value in values:
        if value is None:
            scaled.append(None)
        elif isinstance(value, int) and not isinstance(value, bool):
            scaled.append(Decimal(value).scaleb(-places))
        else:
            raise TypeError(f"column {column!r} has {value!r}, not integer minor units")
    return scaled


def frame_to_rows(
    df: pd.DataFrame, *, minor_units: Mapping[str, int] | None = None
) -> list[dict[str, Any]]:
    """Rows of plain Python values (Decimal, UTC datetime, None) from a frame, for upserts.

    `minor_units` maps integer columns holding minor units to their number of decimals,
    e.g. `{"amount": 2}` turns 12050 into Decimal("120.50").
    """
    scales = dict(minor_units or {})
    unknown = sorted(set(scales) - set(df.columns))
    if unknown:
        raise ValueError(f"minor_units names column(s) not in the frame: {', '.join(unknown)}")
    columns: dict[str, list[Any]] = {}
    for name in df.columns:
        column = str(name)
        values = _column_values(df[name], column)
        if column in scales:
            values = _scale_minor_units(values, column, scales[column])
        columns[column] = values
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]
