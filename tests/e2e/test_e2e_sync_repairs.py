"""End to end: unmapped stages go to quarantine and a config fix repairs them without a
re-extract; the reconciliation pass marks deals the CRM no longer lists (with its guard);
daily snapshots."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.sandbox.salesforce.stages import standard_stage_specs
from warehouse.schema import deal_snapshots

pytestmark = pytest.mark.e2e

SF_ANN = "005Aa0000000001IAA"
SF_OPEN, SF_LOST, SF_DELETED, SF_NO_HISTORY = (
    "006Aa0000000001IAA", "006Aa0000000003IAA", "006Aa0000000004IAA", "006Aa0000000005IAA",
)  # fmt: skip
DISC_1, DISC_2 = "006Aa0000000101IAA", "006Aa0000000102IAA"


def test_unmapped_stage_quarantines_and_a_config_fix_repairs_without_reextract(
    backend: str, harness: Callable[..., Any], world: Callable[..., dict[str, Any]], crm: Any
) -> None:
    data = world(hubspot=False)
    stages = standard_stage_specs()
    stages.insert(0, {"ApiName": "Discovery Call", "MasterLabel": "Discovery Call",
                      "IsActive": True, "IsClosed": False, "IsWon": False,
                      "DefaultProbability": 5, "SortOrder": 0,
                      "ForecastCategoryName": "Pipeline"})  # fmt: skip
    data["salesforce"]["opportunity_stages"] = stages
    for deal_id in (DISC_1, DISC_2):
        data["salesforce"]["opportunities"].append(
            {"Id": deal_id, "Name": f"Disc {deal_id}", "OwnerId": SF_ANN,
             "StageName": "Discovery Call", "Amount": 50, "CurrencyIsoCode": "USD",
             "CloseDate": "2026-09-30", "CreatedDate": "2026-05-03T00:00:00.000+0000"}
        )  # fmt: skip
    h = harness(backend, fixture=data, apis=["salesforce"])

    outcome = h.sync()
    assert outcome.ok
    message = outcome.sources[0].message or ""
    assert "'Discovery Call'" in message and "'default'" in message and "(2 deals)" in message
    assert h.runs("salesforce")[-1]["message"] == message
    assert h.runs("salesforce")[-1]["quarantined"] == 2
    loaded = h.deals()
    assert f"salesforce:{DISC_1}" not in loaded and f"salesforce:{DISC_2}" not in loaded
    assert len(loaded) == 5
    held = h.quarantine("salesforce")
    assert set(held) == {DISC_1, DISC_2}
    assert all("Discovery Call" in row["reason"] and row["resolved_at"] is None
               for row in held.values())  # fmt: skip

    # A loaded deal moves into the unmapped stage: it keeps its last good row, flagged.
    crm.salesforce(h.server).Opportunity.update(SF_OPEN, {"StageName": "Discovery Call"})
    assert h.sync().ok
    kept = h.deals()[f"salesforce:{SF_OPEN}"]
    assert (kept["source_stage"], kept["stage_number"], kept["needs_attention"]) == (
        "Needs Analysis", 2, True,
    )  # fmt: skip
    assert "Discovery Call" in kept["quarantine_reason"]
    assert set(h.quarantine("salesforce")) == {DISC_1, DISC_2, SF_OPEN}

    # The fix is configuration only; nothing is read again from the CRM.
    h.config_data["sources"] = {"salesforce": {"type": "salesforce", "stage_mappings": [
        {"source_stage": "Discovery Call", "stage": 2}]}}  # fmt: skip
    outcome = h.sync()
    assert outcome.ok and outcome.sources[0].message is None
    run = h.runs("salesforce")[-1]
    # Only the cursor's overlap re-reads SF_OPEN (changed seconds ago); DISC_1/2 are not read.
    assert run["rows_read"] <= 1 and run["quarantined"] == 0
    loaded = h.deals()
    for deal_id in (DISC_1, DISC_2, SF_OPEN):
        row = loaded[f"salesforce:{deal_id}"]
        assert (row["source_stage"], row["stage_number"], row["stage"]) == (
            "Discovery Call", 2, "qualification",
        )  # fmt: skip
        assert row["needs_attention"] is False and row["quarantine_reason"] is None
    assert loaded[f"salesforce:{DISC_1}"]["probability"] == Decimal("0.05")
    assert all(row["resolved_at"] is not None for row in h.quarantine("salesforce").values())


def _purge_salesforce(server: Any, deal_id: str) -> None:
    """Empty the recycle bin of one deal: Salesforce no longer has it at all."""
    state = server.apis["salesforce"].state
    with state.lock:
        state.tables["Opportunity"].pop(deal_id)


def _merge_away_hubspot(server: Any, deal_id: str) -> None:
    """A HubSpot merge: the id disappears without an archive."""
    state = server.apis["hubspot"].state
    with state.lock:
        deal = state.deals.pop(deal_id)
        state.active_ids.remove(int(deal_id))
        state.by_modified.remove((deal.modified_ms, int(deal_id)))


def test_reconciliation_marks_vanished_deals_on_full_and_guards_against_wipes(
    backend: str, harness: Callable[..., Any], world: Callable[..., dict[str, Any]]
) -> None:
    h = harness(backend, fixture=world())
    assert h.sync().ok
    _purge_salesforce(h.server, SF_OPEN)
    _merge_away_hubspot(h.server, "9001")

    assert h.sync().ok  # incremental, reconciliation not due yet: nobody announced it
    assert h.deals()[f"salesforce:{SF_OPEN}"]["is_deleted"] is False
    assert h.deals()["hubspot:9001"]["is_deleted"] is False

    outcome = h.sync(full=True)
    assert outcome.ok
    loaded = h.deals()
    assert loaded[f"salesforce:{SF_OPEN}"]["is_deleted"] is True
    assert loaded["hubspot:9001"]["is_deleted"] is True
    assert {s.source: s.reconciled for s in outcome.sources} == {"salesforce": 1, "hubspot": 1}
    assert h.runs("salesforce")[-1]["deleted"] == 1
    open_stays = [s for s in h.stays(f"salesforce:{SF_OPEN}") if s["exit_reason"] == "deleted"]
    assert len(open_stays) == 1  # its open stay ended as deleted

    # The CRM suddenly lists almost nothing: refuse rather than wipe the pipeline.
    for deal_id in (SF_LOST, SF_NO_HISTORY):
        _purge_salesforce(h.server, deal_id)
    live_before = {k for k, v in h.deals().items() if not v["is_deleted"]}
    outcome = h.sync(full=True)
    assert not outcome.ok
    run = h.runs("salesforce")[-1]
    assert run["status"] == "failed" and "ReconcileRefused" in run["message"]
    assert "refusing to mark more than half deleted" in run["message"]
    assert {k for k, v in h.deals().items() if not v["is_deleted"]} == live_before


def test_snapshots_hold_open_deals_per_day_plus_deals_closed_since(
    backend: str, harness: Callable[..., Any], world: Callable[..., dict[str, Any]], crm: Any
) -> None:
    h = harness(backend, fixture=world())
    outcome = h.sync()
    today = datetime.now(UTC).date()
    first = {(r["snapshot_date"], r["deal_key"]): r for r in h.rows(deal_snapshots)}
    open_keys = {f"salesforce:{SF_OPEN}", "hubspot:9001", "hubspot:9005"}
    assert set(first) == {(today, key) for key in open_keys}
    assert outcome.snapshot_rows == 3
    assert h.sync().snapshot_rows == 3  # same day again: rewritten, one row per deal

    # Pretend that snapshot was yesterday's (taken when it was), then close a deal today.
    yesterday = today - timedelta(days=1)
    with h.engine.begin() as conn:
        conn.execute(sa.update(deal_snapshots).values(snapshot_date=yesterday))
    crm.salesforce(h.server).Opportunity.update(SF_OPEN, {"StageName": "Closed Won"})
    assert h.sync().snapshot_rows == 3
    rows = {(r["snapshot_date"], r["deal_key"]): r for r in h.rows(deal_snapshots)}
    assert set(rows) == {(yesterday, k) for k in open_keys} | {(today, k) for k in open_keys}
    assert rows[(today, f"salesforce:{SF_OPEN}")]["status"] == "won"
    assert rows[(yesterday, f"salesforce:{SF_OPEN}")]["status"] == "open"
    assert rows[(today, "hubspot:9005")]["amount"] == Decimal("150000")
    assert isinstance(rows[(today, "hubspot:9005")]["snapshot_date"], date)
    # Deals closed long before the previous snapshot are not repeated.
    assert (today, f"salesforce:{SF_LOST}") not in rows
    assert (today, f"salesforce:{SF_DELETED}") not in rows
