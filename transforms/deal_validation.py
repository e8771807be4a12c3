"""Parse a source-neutral deal frame column by column and name what cannot be parsed.

Each check yields a reason per row (NaN where fine); `combine_reasons` joins them with "; ",
so one quarantined record lists every problem it has. Quoted values are cut to 80 characters.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from transforms.currency import is_currency_code
from transforms.dtypes import MONEY, PROBABILITY, TEXT
from transforms.value_parsing import (
    as_text,
    parse_bool,
    parse_date,
    parse_decimal,
    parse_timestamp,
)

_QUOTE_LIMIT = 80


@dataclass(frozen=True)
class ParsedDeals:
    """Typed columns of a deal frame, plus the per-check reasons (NaN where fine)."""

    columns: dict[str, pd.Series]
    reasons: list[pd.Series]


def quoted(text: pd.Series) -> pd.Series:
    """Values in single quotes, cut to a readable length, for reason texts."""
    return "'" + text.astype(TEXT).str.slice(0, _QUOTE_LIMIT) + "'"


def _reason_where(mask: pd.Series, message: pd.Series | str, index: pd.Index) -> pd.Series:
    """The message where mask is True, NaN elsewhere."""
    base = pd.Series(message, index=index, dtype=TEXT) if isinstance(message, str) else message
    return base.astype(TEXT).where(mask.to_numpy())


def combine_reasons(reasons: Iterable[pd.Series], index: pd.Index) -> pd.Series:
    """Join per-check reasons with "; " (vectorised); NaN where a row has none."""
    combined = pd.Series(None, index=index, dtype=TEXT)
    for reason in reasons:
        joined = combined + "; " + reason
        combined = joined.where(combined.notna() & reason.notna(), combined.fillna(reason))
    return combined


def parse_deal_columns(*, deals: pd.DataFrame, default_currency: str) -> ParsedDeals:
    """Typed values of every SOURCE_DEAL_COLUMNS field and the reasons it can't load."""
    index = deals.index
    reasons: list[pd.Series] = []
    columns: dict[str, pd.Series] = {}

    source_id = as_text(deals["source_id"])
    columns["source_id"] = source_id
    reasons.append(_reason_where(source_id.isna(), "missing id", index))

    amount = parse_decimal(deals["amount"], precision=24, scale=6)
    columns["amount"] = amount.values.astype(MONEY)
    raw_amount = as_text(deals["amount"])
    reasons.append(_reason_where(amount.invalid, "unparseable amount " + quoted(raw_amount), index))

    raw_currency = as_text(deals["currency"]).str.upper()
    bad_currency = raw_currency.notna() & ~is_currency_code(raw_currency)
    reasons.append(_reason_where(bad_currency, "unknown currency " + quoted(raw_currency), index))
    columns["currency"] = raw_currency.fillna(default_currency.strip().upper()).astype(TEXT)

    probability = parse_decimal(deals["probability"], precision=6, scale=4)
    raw_probability = as_text(deals["probability"])
    values = probability.values
    outside = values.notna() & ((values < 0) | (values > 1)).fillna(False).astype(bool)
    bad_probability = probability.invalid | outside
    reasons.append(
        _reason_where(
            bad_probability,
            "probability " + quoted(raw_probability) + " is not a number from 0 to 1",
            index,
        )
    )
    columns["probability"] = values.where(~bad_probability).astype(PROBABILITY)

    for name in ("created_at", "last_modified_at"):
        stamps = parse_timestamp(deals[name])
        raw = as_text(deals[name])
        reasons.append(_reason_where(raw.isna(), f"missing {name}", index))
        reasons.append(_reason_where(stamps.invalid, f"unparseable {name} " + quoted(raw), index))
        columns[name] = stamps.values

    activity = parse_timestamp(deals["last_activity_at"])
    reasons.append(
        _reason_where(
            activity.invalid,
            "unparseable last_activity_at " + quoted(as_text(deals["last_activity_at"])),
            index,
        )
    )
    columns["last_activity_at"] = activity.values

    for name in ("close_date", "flag_since"):
        dates = parse_date(deals[name])
        reasons.append(
            _reason_where(
                dates.invalid, f"unparseable {name} " + quoted(as_text(deals[name])), index
            )
        )
        columns[name] = dates.values

    for name in ("is_deleted", "is_closed", "is_won", "flag_stale"):
        columns[name] = parse_bool(deals[name])
    columns["is_deleted"] = columns["is_deleted"].fillna(False).astype(bool)

    for name in (
        "name",
        "pipeline",
        "source_stage",
        "owner_id",
        "account_id",
        "lead_source",
        "deal_type",
        "flag_reason",
    ):
        columns[name] = as_text(deals[name]).astype(TEXT)
    columns["forecast_category"] = canonical_forecast_category(deals["forecast_category"])
    return ParsedDeals(columns=columns, reasons=reasons)


_FORECAST_SYNONYMS = {
    "pipeline": "pipeline",
    "best case": "best_case",
    "bestcase": "best_case",
    "best_case": "best_case",
    "commit": "commit",
    "forecast": "commit",  # Salesforce ForecastCategory API value for Commit
    "closed": "closed",
    "omitted": "omitted",
    "omit": "omitted",
}


def canonical_forecast_category(values: pd.Series) -> pd.Series:
    """CRM forecast categories to pipeline/best_case/commit/closed/omitted; others as given."""
    text = as_text(values)
    folded = text.str.lower().str.replace("-", " ")
    return folded.map(_FORECAST_SYNONYMS).fillna(text).astype(TEXT)
