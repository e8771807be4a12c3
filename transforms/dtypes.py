"""The pandas dtypes of canonical frames, named once so every transform agrees on them."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

MONEY_SCALE = 6
PROBABILITY_SCALE = 4
RATE_SCALE = 12

# Amounts: exact, 18 integer digits and 6 decimals; more decimals round half-even.
MONEY = pd.ArrowDtype(pa.decimal128(24, MONEY_SCALE))
# Probabilities 0-1 with 4 decimals.
PROBABILITY = pd.ArrowDtype(pa.decimal128(6, PROBABILITY_SCALE))
# Conversion rates (Salesforce keeps up to 9 decimals; configured rates are free text).
RATE = pd.ArrowDtype(pa.decimal128(24, RATE_SCALE))
# Timestamps: timezone-aware UTC, microseconds.
TIMESTAMP = "datetime64[us, UTC]"
# Dates (close_date, flag_since): Arrow date32, so they stay dates, never midnight timestamps.
DATE = pd.ArrowDtype(pa.date32())
# Text: pandas' default string dtype (missing values are NaN).
TEXT = "str"
# Canonical stage numbers 1-7, nullable.
STAGE_NUMBER = "Int64"
