"""Checks and coerces the canonical frames that metrics and staleness rules read.

Timestamps must be timezone-aware (converted to UTC), amounts exact (Arrow decimal, Decimal,
int or decimal text; a float amount is refused), close dates calendar dates (`datetime.date`
or Arrow date32). Derived columns carry Decimals and dates as Python objects so that no
aggregate silently turns money into floats.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation

import pandas as pd
import pyarrow as pa

from transforms.metrics_money import exact_product

DEAL_REQUIRED: tuple[str, ...] = (
    "deal_key",
    "source",
    "pipeline",
    "stage_number",
    "status",
    "motion",
    "amount_reporting",
    "probability",
    "owner_email",
    "created_at",
    "closed_at",
    "close_date",
    "is_deleted",
)
DEAL_OPTIONAL: tuple[str, ...] = (
    "stage",
    "forecast_category",
    "owner_name",
    "lead_channel",
    "stage_entered_at",
    "last_activity_at",
    "last_modified_at",
)
DEAL_TIMESTAMPS: tuple[str, ...] = (
    "created_at",
    "closed_at",
    "stage_entered_at",
    "last_activity_at",
    "last_modified_at",
)
STAY_REQUIRED: tuple[str, ...] = ("deal_key", "stage_number", "entered_at", "exited_at")
STATUSES = frozenset({"open", "won", "lost"})
MOTIONS = frozenset({"new_business", "retention"})
SECONDS_PER_DAY = 86_400.0


def require_columns(frame: pd.DataFrame, columns: Iterable[str], *, name: str) -> None:
    """Raise ValueError naming every required column `frame` lacks."""
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"{name} frame lacks column(s): {', '.join(missing)}")


def utc_timestamps(series: pd.Series, *, name: str) -> pd.Series:
    """The column as datetime64[us, UTC]; naive timestamps are refused."""
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return series.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
    if series.notna().sum() == 0:
        return pd.Series(pd.NaT, index=series.index, dtype="datetime64[us, UTC]")
    if pd.api.types.is_datetime64_dtype(series.dtype):
        raise ValueError(f"column {name} holds naive timestamps; timezone-aware UTC required")
    values = series.where(series.notna(), None).tolist()
    for value in values:
        if value is not None and getattr(value, "tzinfo", None) is None:
            raise ValueError(f"column {name} holds a naive or non-timestamp value: {value!r}")
    return pd.to_datetime(pd.Series(values, index=series.index), utc=True).astype(
        "datetime64[us, UTC]"
    )


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _arrow_type_is(series: pd.Series, check: Callable[[pa.DataType], bool]) -> bool:
    dtype = series.dtype
    return isinstance(dtype, pd.ArrowDtype) and check(dtype.pyarrow_dtype)


def decimal_values(
    series: pd.Series, *, name: str, allow_float: bool = False
) -> list[Decimal | None]:
    """The column as exact Decimals (None where missing); floats only when `allow_float`."""
    if not allow_float and pd.api.types.is_float_dtype(series.dtype):
        raise TypeError(f"column {name} is float; money must be exact (Arrow decimal or Decimal)")
    if _arrow_type_is(series, pa.types.is_decimal):  # fast path: Arrow hands out Decimals
        return pa.array(series.array).to_pylist()
    out: list[Decimal | None] = []
    for value in series.tolist():
        if _is_missing(value):
            out.append(None)
        elif isinstance(value, Decimal):
            out.append(None if value.is_nan() else value)
        elif isinstance(value, bool):
            raise TypeError(f"column {name} holds a boolean, not an amount: {value!r}")
        elif isinstance(value, int):
            out.append(Decimal(value))
        elif isinstance(value, float):
            if not allow_float:
                raise TypeError(f"column {name} holds a float {value!r}; money must be exact")
            out.append(Decimal(repr(value)))
        elif isinstance(value, str):
            try:
                out.append(Decimal(value))
            except InvalidOperation as exc:
                raise ValueError(f"column {name} holds non-numeric text {value!r}") from exc
        else:
            raise TypeError(f"column {name} holds {type(value).__name__}, not an amount")
    return out


def calendar_dates(series: pd.Series, *, name: str) -> list[dt.date | None]:
    """The column as `datetime.date`s (None where missing): dates, date32, ISO text, midnights."""
    if _arrow_type_is(series, pa.types.is_date32):  # fast path: Arrow hands out dates
        return pa.array(series.array).to_pylist()
    out: list[dt.date | None] = []
    for value in series.tolist():
        if _is_missing(value):
            out.append(None)
        elif isinstance(value, dt.datetime):  # Timestamp included; before the date check
            out.append(value.date())
        elif isinstance(value, dt.date):
            out.append(value)
        elif isinstance(value, str):
            try:
                out.append(dt.date.fromisoformat(value[:10]))
            except ValueError as exc:
                raise ValueError(f"column {name} holds a non-date {value!r}") from exc
        else:
            raise TypeError(f"column {name} holds {type(value).__name__}, not a date")
    return out


def _object_column(values: list, index: pd.Index) -> pd.Series:
    return pd.Series(values, index=index, dtype=object)


def prepare_deals(deals: pd.DataFrame | None) -> pd.DataFrame:
    """Non-deleted deals with UTC timestamps and derived exact columns.

    Adds `amount` and `weighted` (Decimal or None), `probability_dec` (Decimal or None) and
    `close_day` (date or None), all object columns. Deleted deals are dropped here, once.
    """
    columns = (*DEAL_REQUIRED, *DEAL_OPTIONAL)
    if deals is None:
        deals = pd.DataFrame(columns=list(columns))
    require_columns(deals, DEAL_REQUIRED, name="deals")
    frame = deals.copy()
    for column in DEAL_OPTIONAL:
        if column not in frame.columns:
            frame[column] = None
    for column in DEAL_TIMESTAMPS:
        frame[column] = utc_timestamps(frame[column], name=column)
    deleted = frame["is_deleted"].astype(object).where(frame["is_deleted"].notna(), False)
    frame = frame[~deleted.astype(bool)].reset_index(drop=True)
    statuses = set(frame["status"].dropna().unique()) - STATUSES
    if statuses or frame["status"].isna().any():
        raise ValueError(
            f"deals.status must be open, won or lost; got {sorted(map(str, statuses))}"
        )
    motions = set(frame["motion"].dropna().unique()) - MOTIONS
    if motions or frame["motion"].isna().any():
        raise ValueError(f"deals.motion must be new_business or retention; got {sorted(motions)}")
    if frame["deal_key"].duplicated().any():
        raise ValueError("deals.deal_key has duplicates")
    frame["stage_number"] = pd.array(frame["stage_number"].tolist(), dtype="Int64")
    amounts = decimal_values(frame["amount_reporting"], name="amount_reporting")
    probabilities = decimal_values(frame["probability"], name="probability", allow_float=True)
    weighted = [
        exact_product(a, p) if a is not None and p is not None else None
        for a, p in zip(amounts, probabilities, strict=True)
    ]
    frame["amount"] = _object_column(amounts, frame.index)
    frame["probability_dec"] = _object_column(probabilities, frame.index)
    frame["weighted"] = _object_column(weighted, frame.index)
    frame["close_day"] = _object_column(
        calendar_dates(frame["close_date"], name="close_date"), frame.index
    )
    frame["pipeline_key"] = frame["source"].astype(str) + ":" + frame["pipeline"].astype(str)
    return frame


def prepare_stays(stays: pd.DataFrame | None, deals: pd.DataFrame) -> pd.DataFrame:
    """Stays of the (prepared, non-deleted) deals, with the deal's scope columns joined on.

    `duration_days` is filled from entered/exited where a completed stay lacks it.
    """
    scope_columns = ["deal_key", "source", "pipeline_key", "owner_email", "lead_channel", "motion"]
    if stays is None or len(stays) == 0:
        empty = pd.DataFrame(
            {
                "deal_key": pd.Series(dtype=object),
                "stage_number": pd.array([], dtype="Int64"),
                "entered_at": pd.Series(dtype="datetime64[us, UTC]"),
                "exited_at": pd.Series(dtype="datetime64[us, UTC]"),
                "exit_reason": pd.Series(dtype=object),
                "duration_days": pd.Series(dtype=float),
            }
        )
        return empty.merge(deals[scope_columns], on="deal_key", how="inner")
    require_columns(stays, STAY_REQUIRED, name="stays")
    frame = stays.copy()
    frame["entered_at"] = utc_timestamps(frame["entered_at"], name="entered_at")
    frame["exited_at"] = utc_timestamps(frame["exited_at"], name="exited_at")
    frame["stage_number"] = pd.array(frame["stage_number"].tolist(), dtype="Int64")
    if "exit_reason" not in frame.columns:
        frame["exit_reason"] = None
    computed = (frame["exited_at"] - frame["entered_at"]).dt.total_seconds() / SECONDS_PER_DAY
    if "duration_days" in frame.columns:
        given = pd.to_numeric(frame["duration_days"], errors="raise").astype(float)
        frame["duration_days"] = given.where(given.notna(), computed)
    else:
        frame["duration_days"] = computed
    frame = frame.drop(columns=[c for c in scope_columns[1:] if c in frame.columns])
    return frame.merge(deals[scope_columns], on="deal_key", how="inner")


def days_between(later: pd.Series, earlier: pd.Series | pd.Timestamp) -> pd.Series:
    """Fractional days (seconds / 86,400) from `earlier` to `later`, NaN where either is NaT."""
    return (later - earlier).dt.total_seconds() / SECONDS_PER_DAY
