"""End to end: changes made through the CRM APIs reach the warehouse on the next incremental
sync, an incremental warehouse equals a full one, a rerun changes nothing, and many deals
modified in the same second are all picked up."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

SF_OPEN, SF_LOST = "006Aa0000000001IAA", "006Aa0000000003IAA"
SF_ANN, SF_ACME = "005Aa0000000001IAA", "001Aa0000000001IAA"


def sf_stamp(text: str) -> datetime:
    """A Salesforce datetime ("2026-05-20T10:00:00.000+0000") as aware UTC."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC)


def hs_stamp(value: Any) -> datetime:
    """A HubSpot client datetime as aware UTC."""
    return value.astimezone(UTC)


def test_api_changes_appear_and_incremental_equals_full(
    backend: str,
    harness: Callable[..., Any],
    world: Callable[..., dict[str, Any]],
    crm: Any,
) -> None:
    h = harness(backend, fixture=world())
    assert h.sync().ok
    sf, hs = crm.salesforce(h.server), crm.hubspot(h.server)

    sf.Opportunity.update(SF_OPEN, {"StageName": "Proposal/Price Quote", "Amount": 1500})
    sf.Opportunity.delete(SF_LOST)
    new_sf = sf.Opportunity.create(
        {"Name": "Fresh", "StageName": "Value Proposition", "CloseDate": "2026-10-31",
         "Amount": 99.99, "CurrencyIsoCode": "USD", "OwnerId": SF_ANN, "AccountId": SF_ACME}
    )["id"]  # fmt: skip
    hs.crm.deals.batch_api.update(
        {"inputs": [{"id": "9001", "properties": {"dealstage": "decisionmakerboughtin",
                                                   "amount": "1300.25"}}]}
    )  # fmt: skip
    hs.crm.deals.basic_api.archive("9003")
    new_hs = hs.crm.deals.basic_api.create(
        {"properties": {"dealname": "Fresh HS", "dealstage": "appointmentscheduled",
                        "amount": "10", "deal_currency_code": "USD"},
         "associations": [{"to": {"id": "502"}, "types": [
             {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 5}]}]}
    ).id  # fmt: skip

    outcome = h.sync()
    assert outcome.ok, [s.message for s in outcome.sources]
    moved_sf = sf_stamp(sf.Opportunity.get(SF_OPEN)["SystemModstamp"])
    moved_hs = hs_stamp(hs.crm.deals.basic_api.get_by_id("9001").updated_at)
    loaded = h.deals()

    opened = loaded[f"salesforce:{SF_OPEN}"]
    assert (opened["stage_number"], opened["stage"], opened["amount"]) == (
        4, "proposal", Decimal("1500"),
    )  # fmt: skip
    assert opened["amount_reporting"] == Decimal("1630.434783")  # 1500 / 0.92, half-even
    assert opened["probability"] == Decimal("0.75")
    assert opened["stage_entered_at"] == moved_sf
    assert loaded[f"salesforce:{SF_LOST}"]["is_deleted"] is True
    fresh = loaded[f"salesforce:{new_sf}"]
    assert (fresh["stage_number"], fresh["amount"], fresh["account_name"]) == (
        3, Decimal("99.99"), "Acme",
    )  # fmt: skip
    hs_deal = loaded["hubspot:9001"]
    assert (hs_deal["stage_number"], hs_deal["stage"], hs_deal["amount"]) == (
        5, "negotiation", Decimal("1300.25"),
    )  # fmt: skip
    assert loaded["hubspot:9003"]["is_deleted"] is True
    fresh_hs = loaded[f"hubspot:{new_hs}"]
    assert (fresh_hs["stage_number"], fresh_hs["account_name"], fresh_hs["is_deleted"]) == (
        2, "Globex", False,
    )  # fmt: skip

    stays_sf = [
        (s["stage_number"], s["exited_at"], s["exit_reason"])
        for s in h.stays(f"salesforce:{SF_OPEN}")
    ]
    assert stays_sf == [
        (1, datetime(2026, 5, 10, 12, 30, tzinfo=UTC), "advanced"),
        (2, moved_sf, "advanced"),
        (4, None, None),
    ]
    stays_hs = [
        (s["stage_number"], s["entered_at"], s["exited_at"], s["exit_reason"])
        for s in h.stays("hubspot:9001")
    ]
    assert stays_hs == [
        (2, datetime(2026, 5, 1, 9, tzinfo=UTC), moved_hs, "advanced"),
        (5, moved_hs, None, None),
    ]
    assert [s["entered_at"] for s in h.stays(f"hubspot:{new_hs}")] == [fresh_hs["created_at"]]
    runs = h.runs("salesforce")
    assert (runs[-1]["mode"], runs[-1]["inserted"], runs[-1]["updated"]) == ("incremental", 1, 2)

    # The same CRM read whole into a second warehouse gives the same content.
    full = harness(backend, server=h.server)
    assert full.sync(full=True).ok
    full_deals, incremental_deals = full.deals(), h.deals()
    assert set(full_deals) == set(incremental_deals)
    for key, row in incremental_deals.items():
        differing = {n: (v, full_deals[key][n]) for n, v in row.items() if full_deals[key][n] != v}
        assert differing == {}, key
    assert full.stays() == h.stays()


def test_rerun_changes_nothing(
    backend: str, harness: Callable[..., Any], world: Callable[..., dict[str, Any]]
) -> None:
    h = harness(backend, fixture=world())
    assert h.sync().ok
    deals_before, stays_before = h.deals(), h.stays()
    outcome = h.sync()
    assert outcome.ok
    assert h.deals() == deals_before
    assert h.stays() == stays_before
    for source in ("salesforce", "hubspot"):
        last = h.runs(source)[-1]
        assert (last["status"], last["inserted"], last["updated"], last["deleted"]) == (
            "succeeded", 0, 0, 0,
        ), source  # fmt: skip


def _many(world: dict[str, Any], count: int) -> tuple[list[str], list[str]]:
    """Add `count` open deals to each CRM of the world; returns their ids."""
    sf_ids = [f"006Aa00000001{i:02d}IAA" for i in range(count)]
    for sf_id in sf_ids:
        world["salesforce"]["opportunities"].append(
            {"Id": sf_id, "Name": f"Bulk {sf_id}", "OwnerId": SF_ANN, "StageName": "Prospecting",
             "Amount": 100, "CurrencyIsoCode": "USD", "CloseDate": "2026-12-31",
             "CreatedDate": "2026-05-01T00:00:00.000+0000"}
        )  # fmt: skip
    hs_ids = [str(9100 + i) for i in range(count)]
    for hs_id in hs_ids:
        world["hubspot"]["deals"].append(
            {"id": hs_id, "properties": {"dealname": f"Bulk {hs_id}", "amount": "100",
                                         "dealstage": "appointmentscheduled",
                                         "createdate": "2026-05-01T00:00:00Z"}}
        )  # fmt: skip
    return sf_ids, hs_ids


@pytest.mark.parametrize("backend", ["sqlite"])
def test_many_deals_modified_in_the_same_second_are_all_picked_up(
    backend: str,
    harness: Callable[..., Any],
    world: Callable[..., dict[str, Any]],
    crm: Any,
) -> None:
    data = world()
    sf_ids, hs_ids = _many(data, 60)
    h = harness(backend, fixture=data)
    # No safety margin behind the cursor: the cursor itself must be inclusive.
    h.config_data["sources"] = {
        "salesforce": {"type": "salesforce", "options": {"overlap_seconds": 0}},
        "hubspot": {"type": "hubspot", "options": {"search_lookback_seconds": 0}},
    }
    assert h.sync().ok
    sf, hs = crm.salesforce(h.server), crm.hubspot(h.server)
    for half in (slice(0, 30), slice(30, 60)):
        records = [
            {"attributes": {"type": "Opportunity"}, "id": sf_id, "Amount": 250}
            for sf_id in sf_ids[half]
        ]
        assert all(r["success"] for r in sf.restful("composite/sobjects", method="PATCH",
                                                     json={"records": records}))  # fmt: skip
        hs.crm.deals.batch_api.update(
            {"inputs": [{"id": i, "properties": {"amount": "250"}} for i in hs_ids[half]]}
        )
        assert h.sync().ok
    loaded = h.deals()
    assert {loaded[f"salesforce:{i}"]["amount"] for i in sf_ids} == {Decimal("250")}
    assert {loaded[f"hubspot:{i}"]["amount"] for i in hs_ids} == {Decimal("250")}
    stamps = {loaded[f"hubspot:{i}"]["last_modified_at"].replace(microsecond=0) for i in hs_ids}
    assert len(stamps) <= 2  # each batch landed within one second
