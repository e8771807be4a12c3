"""End to end: a first sync loads every deal of a small, hand-written world exactly.

Expected canonical values are worked out by hand from the fixture in conftest.py (stage
mappings of canonical-model.md, CurrencyType rates 0.92 EUR / 0.79 GBP, configured GBP 1.25).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

SF_ANN, SF_BEN = "005Aa0000000001IAA", "005Aa0000000002IAA"
SF_ACME, SF_GLOBEX = "001Aa0000000001IAA", "001Aa0000000002IAA"
SF_OPEN, SF_RENEWAL, SF_LOST = "006Aa0000000001IAA", "006Aa0000000002IAA", "006Aa0000000003IAA"
SF_DELETED, SF_NO_HISTORY = "006Aa0000000004IAA", "006Aa0000000005IAA"


def utc(*parts: int) -> datetime:
    """An aware UTC datetime."""
    return datetime(*parts, tzinfo=UTC)


EXPECTED_DEALS: dict[str, dict[str, Any]] = {
    f"salesforce:{SF_OPEN}": {
        "source": "salesforce", "source_type": "salesforce", "source_id": SF_OPEN,
        "name": "Acme pilot", "pipeline": "default", "source_stage": "Needs Analysis",
        "stage_number": 2, "stage": "qualification", "status": "open",
        "motion": "new_business", "amount": Decimal("1200.5"), "currency": "EUR",
        # 1200.50 / 0.92 = 1304.8913043..., half-even to 6 places
        "amount_reporting": Decimal("1304.891304"), "probability": Decimal("0.2"),
        "forecast_category": "pipeline", "owner_id": SF_ANN, "owner_name": "Ann Lee",
        "owner_email": "ann.lee@example.com", "account_id": SF_ACME, "account_name": "Acme",
        "lead_source": "Web", "deal_type": "New Customer", "created_at": utc(2026, 5, 1, 9),
        "close_date": date(2026, 7, 31), "closed_at": None,
        "stage_entered_at": utc(2026, 5, 10, 12, 30), "last_modified_at": utc(2026, 5, 20, 10),
        "needs_attention": False, "is_deleted": False,
    },
    f"salesforce:{SF_RENEWAL}": {
        "name": "Globex renewal", "source_stage": "Closed Won", "stage_number": 7,
        "stage": "retention", "status": "won", "motion": "retention",
        "amount": Decimal("5099.99"), "currency": "GBP",
        "amount_reporting": Decimal("6374.9875"),  # configured GBP 1.25 beats CurrencyType
        "probability": Decimal("1"), "owner_email": "ben@example.com", "account_id": SF_GLOBEX,
        "account_name": "Globex", "closed_at": utc(2026, 6, 1, 8), "closed_at_source": "history",
        "stage_entered_at": utc(2026, 6, 1, 8), "is_deleted": False,
    },
    f"salesforce:{SF_LOST}": {
        "stage_number": 4, "stage": "proposal", "status": "lost", "motion": "new_business",
        "amount": Decimal("300"), "currency": "USD", "amount_reporting": Decimal("300"),
        "probability": Decimal("0"), "closed_at": utc(2026, 3, 15, 8),
        "closed_at_source": "history", "is_deleted": False,
    },
    f"salesforce:{SF_DELETED}": {
        "status": "open", "stage_number": 1, "stage": "prospecting", "is_deleted": True,
        "account_id": None, "account_name": None,
    },
    f"salesforce:{SF_NO_HISTORY}": {
        "status": "won", "stage_number": 6, "stage": "closing", "owner_id": SF_BEN,
        "closed_at": utc(2026, 4, 15), "closed_at_source": "close_date",
        "stage_entered_at": utc(2026, 4, 15), "probability": Decimal("1"),
    },
    "hubspot:9001": {
        "source": "hubspot", "source_type": "hubspot", "source_id": "9001",
        "name": "Acme pilot", "pipeline": "default", "source_stage": "qualifiedtobuy",
        "stage_number": 2, "stage": "qualification", "status": "open",
        "motion": "new_business", "amount": Decimal("1200"), "currency": "USD",
        "amount_reporting": Decimal("1200"), "probability": Decimal("0.4"), "owner_id": "101",
        "owner_name": "Ann Lee", "owner_email": "ann.lee@example.com", "account_id": "501",
        "account_name": "Acme", "deal_type": "newbusiness", "created_at": utc(2026, 5, 1, 9),
        "close_date": date(2026, 7, 31), "closed_at": None,
        # appointmentscheduled and qualifiedtobuy both map to 2: one stay since 05-01
        "stage_entered_at": utc(2026, 5, 1, 9), "last_modified_at": utc(2026, 5, 20, 10),
        "is_deleted": False, "needs_attention": False,
    },
    "hubspot:9002": {
        "stage_number": 7, "stage": "retention", "status": "won", "motion": "retention",
        "amount": Decimal("5099.99"), "currency": "GBP",
        "amount_reporting": Decimal("6374.9875"), "probability": Decimal("1"),
        "owner_email": "ben@example.com", "account_name": "Globex",
        "closed_at": utc(2026, 6, 1, 8), "closed_at_source": "history",
    },
    "hubspot:9003": {
        "stage_number": 3, "stage": "demo", "status": "lost", "amount": Decimal("300.10"),
        "probability": Decimal("0"), "closed_at": utc(2026, 3, 15, 8), "account_id": None,
    },
    "hubspot:9004": {
        "is_deleted": True, "status": "open", "stage_number": 2, "amount": None,
        "stage_entered_at": utc(2025, 1, 1),  # from the archived deal's own history
    },
    "hubspot:9005": {
        "stage_number": 3, "stage": "demo", "status": "open", "currency": "JPY",
        "amount": Decimal("150000"), "amount_reporting": None,  # no rate for JPY
        "probability": Decimal("0.35"),  # hs_forecast_probability beats the stage's 0.6
        "owner_id": None, "owner_email": None, "stage_entered_at": utc(2026, 5, 2),
    },
}  # fmt: skip


def stay(
    key: str,
    number: int,
    name: str,
    source_stage: str,
    entered: datetime,
    exited: datetime | None = None,
    reason: str | None = None,
    days: float | None = None,
) -> dict[str, Any]:
    """One expected deal_stage_history row."""
    return {
        "deal_key": key,
        "source": key.split(":")[0],
        "stage_number": number,
        "stage": name,
        "source_stage": source_stage,
        "entered_at": entered,
        "exited_at": exited,
        "exit_reason": reason,
        "duration_days": days,
    }


EXPECTED_STAYS = sorted(
    [
        stay(f"salesforce:{SF_OPEN}", 1, "prospecting", "Prospecting", utc(2026, 5, 1, 9),
             utc(2026, 5, 10, 12, 30), "advanced", 9 + 3.5 / 24),
        stay(f"salesforce:{SF_OPEN}", 2, "qualification", "Needs Analysis",
             utc(2026, 5, 10, 12, 30)),
        stay(f"salesforce:{SF_RENEWAL}", 7, "retention", "Prospecting", utc(2026, 4, 1, 8),
             utc(2026, 6, 1, 8), "won", 61.0),
        stay(f"salesforce:{SF_LOST}", 1, "prospecting", "Prospecting", utc(2026, 3, 1, 8),
             utc(2026, 3, 5, 8), "advanced", 4.0),
        stay(f"salesforce:{SF_LOST}", 4, "proposal", "Proposal/Price Quote", utc(2026, 3, 5, 8),
             utc(2026, 3, 15, 8), "lost", 10.0),
        # a deleted deal's stay ends "deleted" at its last modification (here its creation)
        stay(f"salesforce:{SF_DELETED}", 1, "prospecting", "Prospecting", utc(2025, 12, 1),
             utc(2025, 12, 1), "deleted", 0.0),
        stay("hubspot:9001", 2, "qualification", "appointmentscheduled", utc(2026, 5, 1, 9)),
        stay("hubspot:9002", 7, "retention", "appointmentscheduled", utc(2026, 4, 1, 8),
             utc(2026, 6, 1, 8), "won", 61.0),
        stay("hubspot:9003", 2, "qualification", "appointmentscheduled", utc(2026, 3, 1, 8),
             utc(2026, 3, 5, 8), "advanced", 4.0),
        stay("hubspot:9003", 3, "demo", "presentationscheduled", utc(2026, 3, 5, 8),
             utc(2026, 3, 15, 8), "lost", 10.0),
        # archived before the first sync: its history still comes along
        stay("hubspot:9004", 2, "qualification", "appointmentscheduled", utc(2025, 1, 1),
             utc(2025, 1, 1), "deleted", 0.0),
        stay("hubspot:9005", 3, "demo", "presentationscheduled", utc(2026, 5, 2)),
    ],
    key=lambda row: (row["deal_key"], row["entered_at"]),
)  # fmt: skip


def _approx_days(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            **row,
            "duration_days": None
            if row["duration_days"] is None
            else round(row["duration_days"], 6),
        }
        for row in rows
    ]


def test_first_sync_loads_every_deal_exactly(
    backend: str, harness: Callable[..., Any], world: Callable[..., dict[str, Any]]
) -> None:
    h = harness(backend, fixture=world())
    outcome = h.sync()
    assert outcome.ok, [s.message for s in outcome.sources]

    loaded = h.deals()
    assert set(loaded) == set(EXPECTED_DEALS)
    for key, expected in EXPECTED_DEALS.items():
        actual = {name: loaded[key][name] for name in expected}
        assert actual == expected, key
    # Timestamps come back aware and in UTC (the process runs in America/New_York).
    for row in loaded.values():
        for name in ("created_at", "last_modified_at", "closed_at", "stage_entered_at"):
            if row[name] is not None:
                assert row[name].utcoffset().total_seconds() == 0, (row["deal_key"], name)
    assert _approx_days(h.stays()) == _approx_days(EXPECTED_STAYS)

    sf_run, hs_run = h.runs("salesforce")[-1], h.runs("hubspot")[-1]
    assert (sf_run["status"], sf_run["inserted"], sf_run["quarantined"]) == ("succeeded", 5, 0)
    assert (hs_run["status"], hs_run["inserted"], hs_run["quarantined"]) == ("succeeded", 5, 0)
    assert sf_run["cursor_after"] is not None and hs_run["cursor_after"] is not None
