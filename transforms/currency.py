"""Exact conversion of deal amounts into the reporting currency.

Rules (canonical-model.md, "Money, time and currency"):
- An amount already in the reporting currency R converts 1:1.
- A configured rate `{EUR: 1.08}` (one EUR is worth 1.08 R) takes precedence:
  `amount * 1.08`.
- Otherwise the CRM's CurrencyType (ConversionRate: units of C one corporate unit buys):
  `amount / rate(C) * rate(R)`, with rate(corporate) = 1.
- Closed deals convert at the dated rate in effect on their `closed_at` date where the org
  has dated rates (start_date <= date < next_start_date), else at the current rate.
- A currency with no known rate gives NULL (the deal still loads; a check names it).
Arithmetic is Arrow decimal: the product is exact and the one division rounds half-even to
6 places with a sticky remainder check, so ties are decided exactly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from transforms.dtypes import MONEY, MONEY_SCALE, RATE, RATE_SCALE
from transforms.value_parsing import parse_bool, parse_date, parse_decimal

_CURRENCY_CODE = re.compile(r"[A-Z]{3}")
_RATE_TYPE = RATE.pyarrow_dtype
_WIDE_RATE_TYPE = pa.decimal256(24, RATE_SCALE)
_PRODUCT_TYPE = pa.decimal256(48, MONEY_SCALE + RATE_SCALE)


@dataclass(frozen=True)
class DatedRate:
    """A CurrencyType rate valid on [start, end) (end None: open-ended)."""

    currency: str
    rate: Decimal
    start: date
    end: date | None


@dataclass(frozen=True)
class CurrencyRates:
    """Everything needed to convert amounts into the reporting currency."""

    reporting_currency: str
    configured: Mapping[str, Decimal] = field(default_factory=dict)
    corporate_currency: str | None = None
    current: Mapping[str, Decimal] = field(default_factory=dict)
    dated: tuple[DatedRate, ...] = ()

    @classmethod
    def build(
        cls,
        *,
        reporting_currency: str,
        configured: Mapping[str, Decimal | str | int | float] | None = None,
        rate_frame: pd.DataFrame | None = None,
    ) -> CurrencyRates:
        """Rates from configuration plus a CRM rate frame (RATE_COLUMNS); ValueError if bad."""
        reporting = _currency_code(reporting_currency, what="reporting currency")
        configured_rates = {
            _currency_code(code, what="configured rate currency"): _positive_rate(value, code)
            for code, value in (configured or {}).items()
        }
        if rate_frame is None or rate_frame.empty:
            return cls(reporting_currency=reporting, configured=configured_rates)
        frame = _parse_rate_frame(rate_frame)
        current_rows = frame[frame["start_date"].isna()]
        dated_rows = frame[frame["start_date"].notna()]
        corporate = sorted(set(frame.loc[frame["is_corporate"], "currency"]))
        if len(corporate) > 1:
            raise ValueError(f"currency rates name several corporate currencies: {corporate}")
        current = dict(zip(current_rows["currency"], current_rows["rate"], strict=True))
        if corporate:
            current.setdefault(corporate[0], Decimal(1))
        dated = tuple(
            DatedRate(currency=c, rate=r, start=s, end=None if pd.isna(e) else e)
            for c, r, s, e in zip(
                dated_rows["currency"],
                dated_rows["rate"],
                dated_rows["start_date"],
                dated_rows["next_start_date"],
                strict=True,
            )
        )
        return cls(
            reporting_currency=reporting,
            configured=configured_rates,
            corporate_currency=corporate[0] if corporate else None,
            current=current,
            dated=dated,
        )


def is_currency_code(codes: pd.Series) -> pd.Series:
    """True where a (stripped, upper-cased) code has the ISO 4217 shape: three letters."""
    return codes.str.fullmatch(r"[A-Za-z]{3}").fillna(False).astype(bool)


def convert_to_reporting(
    *,
    amounts: pd.Series,
    currencies: pd.Series,
    rates: CurrencyRates,
    on: pd.Series | None = None,
) -> pd.Series:
    """Amounts (MONEY) in `currencies` to the reporting currency; NULL when no rate is known.

    `on` holds, per row, the UTC timestamp whose dated rate applies (closed deals'
    `closed_at`); NaT or no `on` means the current rate.
    """
    codes = currencies.astype("str").str.upper()
    numerator, denominator = _rate_pair(codes=codes, rates=rates, on=on)
    amount = pa.array(amounts.astype(MONEY), from_pandas=True)
    product = pc.multiply(pc.cast(amount, pa.decimal256(24, MONEY_SCALE)), _wide(numerator))
    result = _divide_half_even(pc.cast(product, _PRODUCT_TYPE), _wide(denominator))
    return pd.Series(pc.cast(result, MONEY.pyarrow_dtype), index=amounts.index, dtype=MONEY)


def _rate_pair(
    *, codes: pd.Series, rates: CurrencyRates, on: pd.Series | None
) -> tuple[pa.Array, pa.Array]:
    """Per row, the rates `n` and `d` with amount_reporting = amount * n / d (NULL unknown)."""
    reporting = rates.reporting_currency
    one = Decimal(1)
    rate_c = _lookup(codes, rates.current if rates.corporate_currency else {})
    current_r = rates.current.get(reporting) if rates.corporate_currency else None
    rate_r = pd.Series(current_r, index=codes.index, dtype=object)
    if on is not None and rates.dated and rates.corporate_currency:
        on_dates = on.astype("datetime64[us, UTC]")
        dated_c = _dated_lookup(codes, on_dates, rates.dated)
        rate_c = dated_c.where(dated_c.notna(), rate_c)
        if reporting != rates.corporate_currency:
            reporting_codes = pd.Series(reporting, index=codes.index, dtype="str")
            dated_r = _dated_lookup(reporting_codes, on_dates, rates.dated)
            rate_r = dated_r.where(dated_r.notna(), rate_r)
    configured = _lookup(codes, rates.configured)
    use_configured = configured.notna()
    numerator = rate_r.where(~use_configured, configured)
    denominator = rate_c.where(~use_configured, one)
    same = codes == reporting
    numerator = numerator.where(~same, one)
    denominator = denominator.where(~same, one)
    unknown = numerator.isna() | denominator.isna()
    numerator = numerator.where(~unknown, None)
    denominator = denominator.where(~unknown, None)
    return (
        pa.array(numerator.tolist(), type=_RATE_TYPE),
        pa.array(denominator.tolist(), type=_RATE_TYPE),
    )


def _lookup(codes: pd.Series, table: Mapping[str, Decimal]) -> pd.Series:
    """Map currency codes through a small table; NaN where absent (object dtype)."""
    if not table:
        return pd.Series(None, index=codes.index, dtype=object)
    return codes.astype(object).map(dict(table)).astype(object)


def _dated_lookup(codes: pd.Series, on: pd.Series, dated: tuple[DatedRate, ...]) -> pd.Series:
    """The dated rate in effect on each row's UTC date, or NaN (object dtype of Decimal)."""
    table = pd.DataFrame(
        {
            "currency": [d.currency for d in dated],
            "start": pd.to_datetime([d.start for d in dated]).astype("datetime64[us]"),
            "end": pd.to_datetime([d.end for d in dated]).astype("datetime64[us]"),
            "rate": [d.rate for d in dated],
        }
    ).sort_values("start")
    rows = pd.DataFrame(
        {
            "row": range(len(codes)),
            "currency": codes.astype("str").to_numpy(),
            "day": on.dt.tz_convert("UTC").dt.tz_localize(None).dt.floor("D").to_numpy(),
        }
    )
    rows = rows[rows["day"].notna() & rows["currency"].notna()].sort_values("day")
    if rows.empty:
        return pd.Series(None, index=codes.index, dtype=object)
    rows["day"] = rows["day"].astype("datetime64[us]")
    rows["currency"] = rows["currency"].astype("str")
    table["currency"] = table["currency"].astype("str")
    matched = pd.merge_asof(
        rows, table, left_on="day", right_on="start", by="currency", direction="backward"
    )
    in_force = matched["end"].isna() | (matched["day"] < matched["end"])
    matched = matched[matched["rate"].notna() & in_force]
    result = pd.Series(None, index=range(len(codes)), dtype=object)
    result.loc[matched["row"].to_numpy()] = matched["rate"].to_numpy()
    result.index = codes.index
    return result


def _wide(values: pa.Array) -> pa.Array:
    """Rates as decimal256 for exact products."""
    return pc.cast(values, _WIDE_RATE_TYPE)


def _divide_half_even(numerator: pa.Array, denominator: pa.Array) -> pa.Array:
    """numerator / denominator rounded half-even to MONEY_SCALE places, exactly.

    Arrow's decimal division truncates. The quotient truncated to scale+1 digits, plus a
    sticky digit when the remainder is non-zero, rounds half-even to the exact answer.
    Results outside MONEY's range become NULL.
    """
    keep = MONEY_SCALE + 1
    work_type = pa.decimal256(42, keep + 1)
    compare_type = pa.decimal256(76, 30)
    quotient = pc.divide(numerator, denominator)
    truncated = pc.cast(pc.round(quotient, ndigits=keep, round_mode="towards_zero"), work_type)
    back = pc.multiply(truncated, denominator)
    exact = pc.equal(pc.cast(back, compare_type), pc.cast(numerator, compare_type))
    step = Decimal(1).scaleb(-(keep + 1))
    negative = pc.less(truncated, pa.scalar(Decimal(0), work_type))
    sticky = pc.if_else(negative, pa.scalar(-step, work_type), pa.scalar(step, work_type))
    adjusted = pc.if_else(pc.fill_null(exact, True), truncated, pc.add(truncated, sticky))
    rounded = pc.round(pc.cast(adjusted, work_type), ndigits=MONEY_SCALE, round_mode="half_to_even")
    limit = pa.scalar(Decimal(10) ** (MONEY.pyarrow_dtype.precision - MONEY_SCALE), work_type)
    fits = pc.less(pc.abs(rounded), limit)
    return pc.if_else(pc.fill_null(fits, True), rounded, pa.scalar(None, work_type))


def _parse_rate_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """RATE_COLUMNS text to typed columns; ValueError naming the first bad row."""
    rate = parse_decimal(frame["rate"], precision=_RATE_TYPE.precision, scale=RATE_SCALE)
    start = parse_date(frame["start_date"])
    end = parse_date(frame["next_start_date"])
    codes = frame["currency"].astype("str").str.strip().str.upper()
    bad = rate.invalid | rate.values.isna() | start.invalid | end.invalid | ~is_currency_code(codes)
    bad |= pc.fill_null(pc.less_equal(pa.array(rate.values), 0), False).to_numpy(
        zero_copy_only=False
    )
    if bad.any():
        row = frame[bad.to_numpy()].iloc[0].to_dict()
        raise ValueError(f"unusable currency rate row: {row}")
    return pd.DataFrame(
        {
            "currency": codes.to_numpy(),
            "rate": [Decimal(v) for v in rate.values.astype(RATE).astype(object)],
            "is_corporate": parse_bool(frame["is_corporate"]).fillna(False).astype(bool),
            "start_date": start.values.astype(object).to_numpy(),
            "next_start_date": end.values.astype(object).to_numpy(),
        },
        index=frame.index,
    )


def _currency_code(code: str, *, what: str) -> str:
    """An upper-cased three-letter code, or ValueError naming the setting."""
    text = str(code).strip().upper()
    if not _CURRENCY_CODE.fullmatch(text):
        raise ValueError(f"{what} must be a three-letter ISO 4217 code, got {code!r}")
    return text


def _positive_rate(value: Decimal | str | int | float, code: str) -> Decimal:
    """A configured rate as a positive Decimal (floats from YAML go through their text)."""
    try:
        rate = Decimal(str(value))
    except InvalidOperation:
        rate = Decimal("NaN")
    if not rate.is_finite() or rate <= 0:
        raise ValueError(f"configured rate for {code} must be a positive number, got {value!r}")
    return rate
