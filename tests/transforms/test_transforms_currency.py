"""Conversion into the reporting currency: configured rates, CurrencyType, dated rates."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from transforms.currency import CurrencyRates, convert_to_reporting
from transforms.dtypes import MONEY
from transforms.value_parsing import parse_decimal, parse_timestamp

# Corporate USD; 1 USD buys 0.8 EUR (current), 0.9 EUR in Q1 2026; 0.75 GBP; 2 XYZ.
RATE_FRAME = pd.DataFrame(
    {
        "currency": ["USD", "EUR", "GBP", "EUR", "XYZ", "GBP"],
        "rate": ["1", "0.8", "0.75", "0.9", "2", "0.5"],
        "is_corporate": [True, False, False, False, False, False],
        "start_date": [None, None, None, "2026-01-01", None, "2026-01-01"],
        "next_start_date": [None, None, None, "2026-04-01", None, "2026-04-01"],
    }
)


def convert(
    rates: CurrencyRates,
    amounts: list[str],
    currencies: list[str],
    on: list[str | None] | None = None,
) -> list[object]:
    """Converted amounts as Decimals (None when unknown)."""
    parsed = parse_decimal(pd.Series(amounts), precision=24, scale=6).values
    when = None if on is None else parse_timestamp(pd.Series(on, dtype=object)).values
    result = convert_to_reporting(
        amounts=parsed, currencies=pd.Series(currencies), rates=rates, on=when
    )
    assert result.dtype == MONEY
    return [None if pd.isna(v) else v for v in result.tolist()]


def test_configured_rates_take_precedence() -> None:
    rates = CurrencyRates.build(
        reporting_currency="USD", configured={"EUR": 1.08}, rate_frame=RATE_FRAME
    )
    # 100 EUR * 1.08 (configured), not 100 / 0.8.
    assert convert(rates, ["100", "0.1"], ["EUR", "EUR"]) == [Decimal("108"), Decimal("0.108")]


def test_currency_type_to_corporate_currency() -> None:
    rates = CurrencyRates.build(reporting_currency="USD", rate_frame=RATE_FRAME)
    assert convert(rates, ["100", "10", "100", "5.5"], ["EUR", "GBP", "USD", "usd"]) == [
        Decimal("125"),  # 100 / 0.8
        Decimal("13.333333"),  # 10 / 0.75 = 13.3333333...
        Decimal("100"),
        Decimal("5.5"),
    ]


def test_currency_type_to_non_corporate_reporting_currency() -> None:
    rates = CurrencyRates.build(reporting_currency="EUR", rate_frame=RATE_FRAME)
    # USD -> EUR: 100 / 1 * 0.8; GBP -> EUR: 30 / 0.75 * 0.8 = 32; EUR stays.
    assert convert(rates, ["100", "30", "7"], ["USD", "GBP", "EUR"]) == [
        Decimal("80"),
        Decimal("32"),
        Decimal("7"),
    ]


def test_closed_deals_use_dated_rate_in_effect() -> None:
    rates = CurrencyRates.build(reporting_currency="USD", rate_frame=RATE_FRAME)
    on = [
        "2026-02-15T12:00:00Z",  # dated 0.9
        "2026-04-01T00:00:00Z",  # next_start_date is exclusive: current 0.8
        "2025-12-31T23:59:59Z",  # before any dated row: current
        None,  # open deal: current
    ]
    assert convert(rates, ["90"] * 4, ["EUR"] * 4, on) == [
        Decimal("100"),
        Decimal("112.5"),
        Decimal("112.5"),
        Decimal("112.5"),
    ]


def test_dated_rates_on_both_sides_for_non_corporate_reporting() -> None:
    rates = CurrencyRates.build(reporting_currency="GBP", rate_frame=RATE_FRAME)
    # Feb 2026: EUR 0.9, GBP 0.5 -> 90 / 0.9 * 0.5 = 50. Current: 90 / 0.8 * 0.75 = 84.375.
    assert convert(rates, ["90", "90"], ["EUR", "EUR"], ["2026-02-01T00:00:00Z", None]) == [
        Decimal("50"),
        Decimal("84.375"),
    ]


def test_unknown_currency_gives_null() -> None:
    rates = CurrencyRates.build(reporting_currency="USD", rate_frame=RATE_FRAME)
    assert convert(rates, ["10", "10"], ["JPY", "EUR"]) == [None, Decimal("12.5")]
    no_rates = CurrencyRates.build(reporting_currency="USD")
    assert convert(no_rates, ["10", "10"], ["EUR", "USD"]) == [None, Decimal("10")]


def test_non_corporate_reporting_currency_without_rate_is_unknown() -> None:
    rates = CurrencyRates.build(reporting_currency="CHF", rate_frame=RATE_FRAME)
    assert convert(rates, ["10", "10"], ["EUR", "CHF"]) == [None, Decimal("10")]


def test_division_rounds_half_even_exactly() -> None:
    rates = CurrencyRates.build(reporting_currency="USD", rate_frame=RATE_FRAME)
    # XYZ rate 2: 1.000001 / 2 = 0.5000005 (tie -> even 0.500000); 1.000003 / 2 = 0.5000015
    # (tie -> 0.500002); -1.000001 / 2 -> -0.500000.
    assert convert(rates, ["1.000001", "1.000003", "-1.000001"], ["XYZ"] * 3) == [
        Decimal("0.5"),
        Decimal("0.500002"),
        Decimal("-0.5"),
    ]
    sticky = pd.DataFrame(
        {
            "currency": ["USD", "ABC"],
            "rate": ["1", "1.999999"],
            "is_corporate": [True, False],
            "start_date": [None, None],
            "next_start_date": [None, None],
        }
    )
    # 0.000001 / 1.999999 = 0.00000050000025...: just above the tie, so it rounds up.
    rates = CurrencyRates.build(reporting_currency="USD", rate_frame=sticky)
    assert convert(rates, ["0.000001"], ["ABC"]) == [Decimal("0.000001")]


def test_null_amount_stays_null() -> None:
    rates = CurrencyRates.build(reporting_currency="USD", rate_frame=RATE_FRAME)
    assert convert(rates, ["", "8"], ["EUR", "EUR"]) == [None, Decimal("10")]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reporting_currency": "US"}, "three-letter"),
        ({"reporting_currency": "USD", "configured": {"EUR": 0}}, "positive"),
        ({"reporting_currency": "USD", "configured": {"EUR": "abc"}}, "positive"),
        ({"reporting_currency": "USD", "configured": {"EURO": 1}}, "three-letter"),
    ],
)
def test_bad_configuration_is_rejected(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CurrencyRates.build(**kwargs)  # type: ignore[arg-type]


def test_bad_rate_row_is_rejected() -> None:
    bad = RATE_FRAME.copy()
    bad.loc[1, "rate"] = "zero"
    with pytest.raises(ValueError, match="unusable currency rate row"):
        CurrencyRates.build(reporting_currency="USD", rate_frame=bad)
