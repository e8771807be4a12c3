"""Builders of canonical frames (deals, stays) for the transforms tests, typed as stored."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

MONEY = pd.ArrowDtype(pa.decimal128(24, 6))
PROBABILITY = pd.ArrowDtype(pa.decimal128(6, 4))
UTC = "datetime64[us, UTC]"


def utc(text: str | None) -> pd.Timestamp | None:
    """'2026-05-01' or '2026-05-01T12:00' as a UTC Timestamp (None stays None)."""
    return None if text is None else pd.Timestamp(text, tz="UTC")


def _deal_defaults(key: str) -> dict[str, Any]:
    return {
        "deal_key": key,
        "source": "salesforce",
        "pipeline": "default",
        "stage_number": 1,
        "stage": None,
        "status": "open",
        "motion": "new_business",
        "amount_reporting": Decimal("0"),
        "probability": Decimal("0.1"),
        "forecast_category": "pipeline",
        "owner_email": "ann@example.com",
        "owner_name": "Ann",
        "lead_channel": "inbound",
        "created_at": "2026-05-01",
        "closed_at": None,
        "stage_entered_at": None,
        "last_activity_at": None,
        "last_modified_at": None,
        "close_date": dt.date(2026, 7, 31),
        "is_deleted": False,
    }


def build_deals(rows: Sequence[dict[str, Any]], *, arrow_dates: bool = True) -> pd.DataFrame:
    """A deals frame with canonical dtypes; timestamps given as ISO text in UTC."""
    full = [{**_deal_defaults(r["deal_key"]), **r} for r in rows]
    columns = list(_deal_defaults("x"))
    frame = pd.DataFrame(full, columns=columns)
    for column in (
        "created_at",
        "closed_at",
        "stage_entered_at",
        "last_activity_at",
        "last_modified_at",
    ):
        frame[column] = pd.Series(
            [utc(v) if isinstance(v, str) else v for v in frame[column]],
            index=frame.index,
            dtype=object,
        )
        frame[column] = pd.to_datetime(frame[column], utc=True).astype(UTC)
    frame["stage_number"] = pd.array(frame["stage_number"].tolist(), dtype="Int64")
    frame["amount_reporting"] = pd.Series(frame["amount_reporting"].tolist(), dtype=MONEY)
    frame["probability"] = pd.Series(frame["probability"].tolist(), dtype=PROBABILITY)
    frame["is_deleted"] = frame["is_deleted"].astype(bool)
    dates = [None if pd.isna(d) else d for d in frame["close_date"]]
    if arrow_dates:
        frame["close_date"] = pd.Series(dates, dtype=pd.ArrowDtype(pa.date32()))
    else:
        frame["close_date"] = pd.Series(dates, dtype=object)
    return frame


def build_stays(rows: Sequence[tuple[str, int, str, str | None, str | None]]) -> pd.DataFrame:
    """Stays from (deal_key, stage_number, entered, exited or None, exit_reason or None)."""
    frame = pd.DataFrame(
        {
            "deal_key": [r[0] for r in rows],
            "stage_number": pd.array([r[1] for r in rows], dtype="Int64"),
            "stage": [None] * len(rows),
            "source_stage": [None] * len(rows),
            "entered_at": pd.Series([utc(r[2]) for r in rows], dtype=object),
            "exited_at": pd.Series([utc(r[3]) for r in rows], dtype=object),
            "exit_reason": [r[4] for r in rows],
        }
    )
    frame["entered_at"] = pd.to_datetime(frame["entered_at"], utc=True).astype(UTC)
    frame["exited_at"] = pd.to_datetime(frame["exited_at"], utc=True).astype(UTC)
    frame["duration_days"] = (frame["exited_at"] - frame["entered_at"]).dt.total_seconds() / 86_400
    return frame


@pytest.fixture
def deals_of() -> Callable[..., pd.DataFrame]:
    """Builder: list of partial deal dicts -> canonical deals frame."""
    return build_deals


@pytest.fixture
def stays_of() -> Callable[..., pd.DataFrame]:
    """Builder: list of (deal_key, stage, entered, exited, reason) -> stays frame."""
    return build_stays


WORKED_T = pd.Timestamp("2026-07-01T00:00Z")


@pytest.fixture
def worked_example() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Deals A-D and their stays, exactly as metrics.md's worked example tells them."""
    deals = build_deals(
        [
            {
                "deal_key": "salesforce:A",
                "created_at": "2026-05-01",
                "stage_number": 6,
                "status": "won",
                "closed_at": "2026-06-10",
                "stage_entered_at": "2026-06-10",
                "amount_reporting": Decimal("100"),
                "probability": Decimal("1"),
                "close_date": dt.date(2026, 6, 10),
                "forecast_category": "closed",
            },
            {
                "deal_key": "salesforce:B",
                "created_at": "2026-05-21",
                "stage_number": 2,
                "status": "lost",
                "closed_at": "2026-06-20",
                "stage_entered_at": "2026-06-20",
                "amount_reporting": Decimal("50"),
                "probability": Decimal("0"),
                "close_date": dt.date(2026, 6, 20),
                "forecast_category": "omitted",
            },
            {
                "deal_key": "salesforce:C",
                "created_at": "2026-05-01",
                "stage_number": 3,
                "stage_entered_at": "2026-05-16",
                "amount_reporting": Decimal("80"),
                "probability": Decimal("0.5"),
                "close_date": dt.date(2026, 7, 15),
                "forecast_category": "commit",
            },
            {
                "deal_key": "salesforce:D",
                "created_at": "2026-06-01",
                "stage_number": 3,
                "stage_entered_at": "2026-06-11",
                "amount_reporting": Decimal("60"),
                "probability": Decimal("0.4"),
                "close_date": dt.date(2026, 8, 20),
            },
        ]
    )
    stays = build_stays(
        [
            ("salesforce:A", 1, "2026-05-01", "2026-05-11", "advanced"),
            ("salesforce:A", 2, "2026-05-11", "2026-05-21", "advanced"),
            ("salesforce:A", 4, "2026-05-21", "2026-06-10", "won"),
            ("salesforce:B", 1, "2026-05-21", "2026-05-31", "advanced"),
            ("salesforce:B", 2, "2026-05-31", "2026-06-20", "lost"),
            ("salesforce:C", 1, "2026-05-01", "2026-05-16", "advanced"),
            ("salesforce:C", 3, "2026-05-16", None, None),
            ("salesforce:D", 2, "2026-06-01", "2026-06-11", "advanced"),
            ("salesforce:D", 3, "2026-06-11", None, None),
        ]
    )
    return deals, stays
