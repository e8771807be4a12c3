"""Parsing of the CRMs' text values: exact decimals, UTC timestamps, dates, booleans."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd
import pytest

from transforms.dtypes import MONEY, PROBABILITY
from transforms.value_parsing import parse_bool, parse_date, parse_decimal, parse_timestamp


def money(values: list[object]) -> list[object]:
    """Parsed MONEY values as Decimals (None for missing)."""
    parsed = parse_decimal(pd.Series(values, dtype=object), precision=24, scale=6).values
    assert parsed.dtype == MONEY
    return [None if pd.isna(v) else v for v in parsed.tolist()]


def test_decimal_sum_is_exact() -> None:
    parsed = parse_decimal(pd.Series(["0.1", "0.2"]), precision=24, scale=6).values
    assert parsed.sum() == Decimal("0.3")
    assert parsed.iloc[0] + parsed.iloc[1] == Decimal("0.3")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1200.50", Decimal("1200.5")),
        ("1.2345675", Decimal("1.234568")),  # tie: round to even (8)
        ("1.2345665", Decimal("1.234566")),  # tie: round to even (6)
        ("1.23456650000001", Decimal("1.234567")),  # not a tie: digits far away count
        ("-1.2345665", Decimal("-1.234566")),
        ("-0.0000005", Decimal("0")),
        ("  42 ", Decimal("42")),
        ("+.5", Decimal("0.5")),
        ("1.5E3", Decimal("1500")),
        ("999999999999999999.999999", Decimal("999999999999999999.999999")),
    ],
)
def test_decimal_rounds_half_even_to_six_places(text: str, expected: Decimal) -> None:
    assert money([text]) == [expected]


def test_decimal_missing_versus_invalid() -> None:
    values = ["", "   ", None, "abc", "1,5", "12.3.4", "1e", "1000000000000000000"]
    parsed = parse_decimal(pd.Series(values, dtype=object), precision=24, scale=6)
    assert parsed.values.isna().all()
    assert parsed.invalid.tolist() == [False, False, False, True, True, True, True, True]


def test_hubspot_float_expansion_probability() -> None:
    texts = [
        "0.200000000000000011102230246251565404236316680908203125",
        "0.90000000000000002220446049250313080847263336181640625",
        "1",
        "0.00005",
        "0.00015",
    ]
    parsed = parse_decimal(pd.Series(texts), precision=6, scale=4).values
    assert parsed.dtype == PROBABILITY
    assert parsed.tolist() == [
        Decimal("0.2"),
        Decimal("0.9"),
        Decimal("1"),
        Decimal("0"),
        Decimal("0.0002"),
    ]


def test_timestamps_mixed_formats_are_utc() -> None:
    texts = [
        "2026-05-01T09:00:00.000+0000",
        "2026-05-01T09:00:00.000Z",
        "2026-05-01T11:00:00+02:00",
        "2026-05-01",
        None,
        "",
        "yesterday",
        "2026-13-45",
    ]
    parsed = parse_timestamp(pd.Series(texts, dtype=object))
    assert str(parsed.values.dtype) == "datetime64[us, UTC]"
    nine = pd.Timestamp("2026-05-01T09:00:00Z")
    assert parsed.values.iloc[:3].tolist() == [nine, nine, nine]
    assert parsed.values.iloc[3] == pd.Timestamp("2026-05-01T00:00:00Z")
    assert parsed.values.iloc[4:].isna().all()
    assert parsed.invalid.tolist() == [False] * 6 + [True, True]


def test_dates_from_date_or_datetime_text() -> None:
    parsed = parse_date(pd.Series(["2026-06-10", "2026-06-10T23:30:00-02:00", "2026-13-45", None]))
    assert parsed.values.tolist()[:2] == [date(2026, 6, 10), date(2026, 6, 11)]
    assert parsed.invalid.tolist() == [False, False, True, False]


def test_booleans_from_text_or_bool() -> None:
    values = pd.Series([True, False, "true", "FALSE", None, "maybe"], dtype=object)
    assert parse_bool(values).tolist() == [True, False, True, False, pd.NA, pd.NA]
