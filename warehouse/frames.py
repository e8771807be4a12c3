"""Turn pandas frames into rows of plain Python values that the warehouse types accept.

Arrow decimals become `Decimal`, integer minor-unit columns become `Decimal` at their scale,
timezone-aware timestamps become UTC `datetime`, and every kind of missing value (None, NaN,
NaT, pd.NA) becomes None. Naive timestamps are refused: their zone would be a guess.

`frame_driver_columns` goes one step further for bulk writes: each column straight to the
values the driver binds (SQLite's UTC text, decimal text), converted a column at a time with
the same checks and output as the column types' per-row bind processing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from warehouse.types import ExactDecimal, UtcDateTime, bind_values


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


def _utc_micros(series: pd.Series, column: str) -> np.ndarray:
    """A timezone-aware column as naive UTC datetime64[us] (NaT kept); refuses nanoseconds."""
    utc = series.dt.tz_convert("UTC")
    naive = utc.dt.tz_localize(None).to_numpy()
    if naive.dtype != np.dtype("datetime64[us]"):
        micros = naive.astype("datetime64[us]")
        lost = ~np.isnat(naive) & (micros.astype(naive.dtype) != naive)
        if lost.any():
            value = series[lost].iloc[0]
            raise ValueError(f"column {column!r} holds nanoseconds ({value}); round to micro")
        naive = micros
    return naive


def _column_values(series: pd.Series, column: str) -> list[Any]:
    """A column as a list of plain values, None for missing ones."""
    dtype = series.dtype
    if isinstance(dtype, pd.ArrowDtype):
        # Arrow converts decimals to Decimal and nulls to None without a float detour.
        return _plain_list(pa.array(series.array).to_pylist(), column)
    if isinstance(dtype, pd.DatetimeTZDtype):
        naive = _utc_micros(series, column)
        missing = np.isnat(naive)
        stamps = naive.astype(object)  # datetime.datetime per value, naive UTC
        return [
            None if gone else stamp.replace(tzinfo=UTC)
            for stamp, gone in zip(stamps.tolist(), missing.tolist(), strict=True)
        ]
    if pd.api.types.is_datetime64_dtype(dtype):
        raise ValueError(f"column {column!r} holds naive timestamps; localize it to UTC")
    if isinstance(dtype, pd.StringDtype | pd.BooleanDtype) or (
        isinstance(dtype, pd.api.extensions.ExtensionDtype) and pd.api.types.is_integer_dtype(dtype)
    ):
        # Text, nullable booleans and integers: plain str / bool / int, missing ones None.
        return series.astype(object).where(series.notna(), None).tolist()
    if isinstance(dtype, np.dtype) and dtype.kind in "biu":
        return series.tolist()
    values = series.astype(object).tolist()
    if not values:
        return values
    missing = pd.isna(np.asarray(values, dtype=object)).tolist()
    return [
        None if gone else _plain(value, column) for value, gone in zip(values, missing, strict=True)
    ]


def _plain_list(values: list[Any], column: str) -> list[Any]:
    """Arrow's Python values, with its timestamps checked as any others."""
    if any(isinstance(v, datetime) for v in values):
        return [None if v is None else _plain(v, column) for v in values]
    return values


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


def frame_columns(
    df: pd.DataFrame, *, minor_units: Mapping[str, int] | None = None
) -> dict[str, list[Any]]:
    """A frame's columns as lists of plain Python values (Decimal, UTC datetime, None)."""
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
    return columns


def frame_to_rows(
    df: pd.DataFrame, *, minor_units: Mapping[str, int] | None = None
) -> list[dict[str, Any]]:
    """Rows of plain Python values (Decimal, UTC datetime, None) from a frame, for upserts.

    `minor_units` maps integer columns holding minor units to their number of decimals,
    e.g. `{"amount": 2}` turns 12050 into Decimal("120.50").
    """
    columns = frame_columns(df, minor_units=minor_units)
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _fast_timestamps(series: pd.Series, column: str, suffix: str) -> list[Any] | None:
    """A timezone-aware column as UTC text `YYYY-MM-DD HH:MM:SS.ffffff` + `suffix`
    (vectorised); None: take the generic way."""
    if not isinstance(series.dtype, pd.DatetimeTZDtype):
        return None
    naive = _utc_micros(series, column)
    text = pa.array(naive).cast(pa.string())  # NaT -> null; always six fraction digits
    if suffix:
        text = pc.binary_join_element_wise(text, suffix, "")
    return text.to_pylist()


def _arrow_array(series: pd.Series) -> pa.ChunkedArray:
    array = pa.array(series.array)
    return array if isinstance(array, pa.ChunkedArray) else pa.chunked_array([array])


def _fast_decimals(series: pd.Series, column_type: ExactDecimal) -> list[Any] | None:
    """An Arrow decimal column as decimal text at the column's scale; None: generic."""
    dtype = series.dtype
    if (
        not isinstance(dtype, pd.ArrowDtype)
        or not pa.types.is_decimal(dtype.pyarrow_dtype)
        or column_type.precision is None
        or column_type.scale is None
    ):
        return None
    source = dtype.pyarrow_dtype
    # Exact when the column's scale is at least the frame's and its integer digits suffice.
    if source.scale > column_type.scale or (
        source.precision - source.scale > column_type.precision - column_type.scale
    ):
        return None
    target = pa.decimal128(column_type.precision, column_type.scale)
    return _arrow_array(series).cast(target).cast(pa.string()).to_pylist()


# Python's date range: an Arrow date outside it takes the generic way (and fails there).
_FIRST_DAY = pa.scalar(date.min, pa.date32())
_LAST_DAY = pa.scalar(date.max, pa.date32())


def _fast_dates(series: pd.Series) -> list[Any] | None:
    """An Arrow date32 column as `YYYY-MM-DD` text (SQLite's DATE format); None: generic."""
    dtype = series.dtype
    if not isinstance(dtype, pd.ArrowDtype) or not pa.types.is_date32(dtype.pyarrow_dtype):
        return None
    array = _arrow_array(series)
    bounds = pc.min_max(array)
    low, high = bounds["min"], bounds["max"]
    if low.is_valid and (pc.less(low, _FIRST_DAY).as_py() or pc.greater(high, _LAST_DAY).as_py()):
        return None
    return array.cast(pa.string()).to_pylist()


def _fast_booleans(series: pd.Series) -> list[Any] | None:
    """A NumPy bool column as SQLite's 1 / 0; None: generic."""
    if series.dtype != np.dtype(bool):
        return None
    return series.to_numpy().astype(np.int64).tolist()


def _driver_columns(
    df: pd.DataFrame, table: sa.Table, dialect: Dialect, *, text: bool
) -> dict[str, list[Any]]:
    """`frame_driver_columns`; with `text`, timestamps, decimals and dates become the text
    PostgreSQL parses to the same values (for COPY)."""
    unknown = [str(name) for name in df.columns if str(name) not in table.c]
    if unknown:
        raise ValueError(f"{table.name} has no column(s) {', '.join(unknown)}")
    sqlite = dialect.name == "sqlite"
    out: dict[str, list[Any]] = {}
    for name in df.columns:
        column = str(name)
        column_type = table.c[column].type
        series = df[name]
        fast: list[Any] | None = None
        if sqlite or text:
            if isinstance(column_type, UtcDateTime):
                fast = _fast_timestamps(series, column, "" if sqlite else "+00")
            elif isinstance(column_type, ExactDecimal):
                fast = _fast_decimals(series, column_type)
            elif isinstance(column_type, sa.Date):
                fast = _fast_dates(series)
            elif sqlite and isinstance(column_type, sa.Boolean):
                fast = _fast_booleans(series)
        if fast is None:
            fast = bind_values(column_type, _column_values(series, column), dialect)
        out[column] = fast
    return out


def frame_driver_columns(
    df: pd.DataFrame, table: sa.Table, dialect: Dialect
) -> dict[str, list[Any]]:
    """A frame's columns as the values the driver binds for `table`'s columns of those names.

    Same checks and output as the types' per-row bind processing (UTC, exact decimals, naive
    timestamps refused); whole columns are converted at once where the dtype allows it.
    """
    return _driver_columns(df, table, dialect, text=False)


def frame_copy_columns(df: pd.DataFrame, table: sa.Table, dialect: Dialect) -> dict[str, list[Any]]:
    """`frame_driver_columns` for a PostgreSQL COPY (`warehouse.pg_copy.copy_columns`): the
    same checks, with timestamps, decimals and dates as text that parses to the same values
    (converted a whole column at a time, no Python object per value)."""
    return _driver_columns(df, table, dialect, text=dialect.name == "postgresql")


# ---- reading whole columns back --------------------------------------------------------------


def _raw_select(table: sa.Table, columns: list[str], dialect: Dialect) -> sa.Select[Any]:
    """SELECT of `columns` whose values come back as the driver gives them (no per-row
    result processing; `read_frame` types them a column at a time).

    On PostgreSQL a timestamptz is selected as its UTC wall time (`timezone('UTC', col)`):
    naive datetimes convert in bulk, aware ones in the session's zone one by one."""

    def raw(name: str) -> sa.ColumnElement[Any]:
        column: sa.ColumnElement[Any] = table.c[name]
        if dialect.name == "postgresql" and isinstance(table.c[name].type, UtcDateTime):
            column = sa.func.timezone("UTC", column)
        return sa.type_coerce(column, sa.types.NullType()).label(name)

    return sa.select(*(raw(n) for n in columns))


def _typed_timestamps(values: list[Any]) -> pd.Series:
    """SQLite UTC text or driver datetimes to datetime64[us, UTC] (NaT for NULL)."""
    raw = pd.Series(values, dtype=object)
    if raw.notna().any() and isinstance(raw[raw.notna()].iloc[0], str):
        parsed = pd.to_datetime(raw, format="ISO8601", utc=True)
    else:
        parsed = pd.to_datetime(raw, utc=True)
    return parsed.astype("datetime64[us, UTC]")


def _typed_arrow(values: list[Any], arrow_type: pa.DataType) -> pd.Series:
    """Decimal / date values (SQLite text or driver objects) as an Arrow-backed column."""
    if any(isinstance(v, str) for v in values):
        array = pa.array(values, type=pa.string()).cast(arrow_type)
    else:
        array = pa.array(values, type=arrow_type)
    return pd.Series(pd.arrays.ArrowExtensionArray(array))


def _typed_column(column_type: sa.types.TypeEngine[Any], values: list[Any]) -> pd.Series:
    """One column read raw, typed in bulk (see `read_frame`)."""
    if isinstance(column_type, UtcDateTime):
        return _typed_timestamps(values)
    if isinstance(column_type, ExactDecimal) and column_type.precision is not None:
        scale = column_type.scale or 0
        return _typed_arrow(values, pa.decimal128(column_type.precision, scale))
    if isinstance(column_type, sa.Date):
        return _typed_arrow(values, pa.date32())
    if isinstance(column_type, sa.Boolean):
        return pd.Series([None if v is None else bool(v) for v in values], dtype="boolean")
    if isinstance(column_type, sa.Integer):
        return pd.Series(values, dtype="Int64")
    if isinstance(column_type, sa.Float):
        return pd.Series([None if v is None else float(v) for v in values], dtype=float)
    if isinstance(column_type, ExactDecimal):
        return pd.Series(
            [
                None if v is None else column_type.process_result_value(v, _NO_DIALECT)
                for v in values
            ],
            dtype=object,
        )
    return pd.Series(_shared_text(values), dtype=object)


def _object_column(column_type: sa.types.TypeEngine[Any], values: list[Any]) -> list[Any]:
    """One column read raw, as the Python values its type returns row by row."""
    if isinstance(column_type, UtcDateTime):
        stamps = _typed_timestamps(values)
        objects = stamps.dt.to_pydatetime()
        return [None if gone else v for v, gone in zip(objects, stamps.isna(), strict=True)]
    if isinstance(column_type, sa.Date) and any(isinstance(v, str) for v in values):
        return pa.array(values, type=pa.string()).cast(pa.date32()).to_pylist()
    if isinstance(column_type, ExactDecimal):
        return [
            None if v is None else column_type.process_result_value(v, _NO_DIALECT) for v in values
        ]
    if isinstance(column_type, sa.Boolean):
        return [None if v is None else bool(v) for v in values]
    return values


class _NoDialect:
    name = "none"


_NO_DIALECT: Any = _NoDialect()


READ_CHUNK_ROWS = 50_000


def read_frame(
    conn: sa.Connection,
    table: sa.Table,
    columns: Sequence[str],
    *,
    where: sa.ColumnElement[bool] | None = None,
    order_by: Sequence[str] = (),
    typed: bool = True,
) -> pd.DataFrame:
    """`columns` of `table` in one query, converted a column at a time (not row by row).

    Typed (default): timestamps datetime64[us, UTC], exact decimals Arrow decimal(p, s),
    dates Arrow date32, booleans "boolean", integers Int64, floats float64, text object
    (None when missing). `typed=False`: object columns of exactly what the column types
    return per row (UTC datetime, Decimal, date, bool, None).
    """
    names = list(columns)
    query = _raw_select(table, names, conn.dialect)
    if where is not None:
        query = query.where(where)
    if order_by:
        query = query.order_by(*(table.c[name] for name in order_by))
    result = conn.execute(query)
    parts: list[pd.DataFrame] = []
    # Straight from the DBAPI cursor: the select has no result processing, so its rows are
    # what `Result` would give, without a Row object each. A chunk at a time: the rows as
    # the driver returns them never all sit in memory.
    cursor = result.cursor
    try:
        while rows := cursor.fetchmany(READ_CHUNK_ROWS):
            raw = [list(column) for column in zip(*rows, strict=True)]
            del rows
            parts.append(_converted(table, names, raw, typed=typed))
    finally:
        result.close()
    if not parts:
        return _converted(table, names, [[] for _ in names], typed=typed)
    if len(parts) == 1:
        return parts[0]
    return pd.concat(parts, ignore_index=True)


def _converted(
    table: sa.Table, names: list[str], raw: list[list[Any]], *, typed: bool
) -> pd.DataFrame:
    """Raw column lists as a typed frame, or as object columns (see `read_frame`)."""
    if typed:
        data = {n: _typed_column(table.c[n].type, v) for n, v in zip(names, raw, strict=True)}
        return pd.DataFrame(data, columns=names)
    objects = {n: _object_column(table.c[n].type, v) for n, v in zip(names, raw, strict=True)}
    return pd.DataFrame(objects, columns=names, dtype=object)


def _shared_text(values: list[Any]) -> list[Any]:
    """Equal strings as one object: the driver returns a new one per row, and a column such
    as `source` or `status` repeats a handful of values down hundreds of thousands of rows."""
    seen: dict[Any, Any] = {}
    return [v if v is None else seen.setdefault(v, v) for v in values]


def typed_to_objects(frame: pd.DataFrame, table: sa.Table) -> pd.DataFrame:
    """A typed `read_frame` result as `read_frame(..., typed=False)` would have returned it:
    object columns of what the column types return per row (UTC datetime, Decimal, date,
    bool, int, None); for turning the few rows a caller needs row by row back into objects."""
    out: dict[str, list[Any]] = {}
    for name in frame.columns:
        series = frame[name]
        column_type = table.c[str(name)].type
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            stamps = series.dt.to_pydatetime()
            out[str(name)] = [
                None if gone else v for v, gone in zip(stamps, series.isna(), strict=True)
            ]
        elif isinstance(series.dtype, pd.ArrowDtype):
            out[str(name)] = pa.array(series.array).to_pylist()
        elif isinstance(column_type, sa.Float):
            out[str(name)] = [None if pd.isna(v) else float(v) for v in series.tolist()]
        else:
            out[str(name)] = series.astype(object).where(series.notna(), None).tolist()
    return pd.DataFrame(
        out, columns=[str(n) for n in frame.columns], index=frame.index, dtype=object
    )
