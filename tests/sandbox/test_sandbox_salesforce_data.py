"""Salesforce sandbox data: generated orgs (reproducible, realistic, consistent histories) and
fixture loading (derived fields, refusal of bad fixtures with the path of the bad value)."""

from __future__ import annotations

import copy
import json
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from connectors.sandbox.api import FixtureError, WriteLog
from connectors.sandbox.salesforce import create_api
from connectors.sandbox.salesforce.generate import generate
from connectors.sandbox.salesforce.ids import make_ids, normalize_id, suffix
from connectors.sandbox.salesforce.state import OrgState
from connectors.sandbox.server import SandboxServer

WORLD: dict[str, Any] = json.loads((Path(__file__).parent / "salesforce_world.json").read_text())
ANCHOR = datetime(2026, 6, 15, tzinfo=UTC)


@pytest.fixture(scope="module")
def org() -> OrgState:
    return generate(deals=3000, seed=21, anchor=ANCHOR)


def test_same_seed_same_data_other_seed_other_data() -> None:
    first = generate(deals=300, seed=5, anchor=ANCHOR)
    second = generate(deals=300, seed=5, anchor=ANCHOR)
    other = generate(deals=300, seed=6, anchor=ANCHOR)
    for name in ("User", "Account", "Opportunity", "OpportunityHistory", "CurrencyType"):
        assert list(first.table(name).values()) == list(second.table(name).values())
    assert list(first.table("Opportunity").values()) != list(other.table("Opportunity").values())


@pytest.mark.parametrize("deals", [0, 1, 123])
def test_create_api_generates_the_requested_count(deals: int) -> None:
    api = create_api(fixture=None, deals=deals, seed=1, write_log=WriteLog())
    assert len(api.state.table("Opportunity")) == deals  # type: ignore[attr-defined]


def test_ids_have_the_case_safe_suffix() -> None:
    assert suffix("001A0000006Vm9r") == "IAC"  # a well-known real 15 -> 18 conversion
    ids = make_ids("006", 0, 3)
    assert all(len(i) == 18 and normalize_id(i, "006") == i for i in ids)
    assert normalize_id(ids[0][:15]) == ids[0]
    assert normalize_id(ids[0], "001") is None
    assert normalize_id(ids[0][:15] + "ZZZ") is None


def test_generated_reference_data(org: OrgState) -> None:
    stages = list(org.table("OpportunityStage").values())
    assert [
        (s["MasterLabel"], s["DefaultProbability"], s["ForecastCategoryName"])
        for s in (stages[0], stages[7], stages[8], stages[9])
    ] == [
        ("Prospecting", 10.0, "Pipeline"),
        ("Negotiation/Review", 90.0, "Pipeline"),
        ("Closed Won", 100.0, "Closed"),
        ("Closed Lost", 0.0, "Omitted"),
    ]
    currencies = {c["IsoCode"]: c for c in org.table("CurrencyType").values()}
    assert set(currencies) == {"USD", "EUR", "GBP", "JPY"}
    assert [c for c, row in currencies.items() if row["IsCorporate"]] == ["USD"]
    assert currencies["JPY"]["DecimalPlaces"] == 0
    assert len(org.table("User")) >= 8
    assert any(not u["IsActive"] for u in org.table("User").values())


def test_generated_opportunities_look_like_a_real_pipeline(org: OrgState) -> None:
    opps = list(org.table("Opportunity").values())
    assert len(opps) == 3000
    stages = Counter(o["StageName"] for o in opps)
    assert len(stages) == 10
    assert Counter(o["CurrencyIsoCode"] for o in opps).keys() == {"USD", "EUR", "GBP", "JPY"}
    assert {"New Customer", "Renewal", "Existing Customer - Upgrade"} <= {o["Type"] for o in opps}
    assert {"Web", "Partner Referral", None} <= {o["LeadSource"] for o in opps}
    deleted = sum(o["IsDeleted"] for o in opps)
    assert 0 < deleted < 150
    amounts = [
        o["Amount"] for o in opps if o["Amount"] is not None and o["CurrencyIsoCode"] == "USD"
    ]
    assert max(amounts) > 20 * statistics.median(amounts)  # long tail
    assert all(
        o["Pipeline_Stale__c"] is False and o["Pipeline_Stale_Reason__c"] is None for o in opps
    )
    for o in opps:
        stage = org.stage(o["StageName"])
        assert stage is not None
        assert (o["IsClosed"], o["IsWon"], o["Probability"]) == (
            stage["IsClosed"],
            stage["IsWon"],
            stage["DefaultProbability"],
        )
        assert o["CreatedDate"] <= o["LastStageChangeDate"] <= o["LastModifiedDate"]
        assert o["LastModifiedDate"] <= o["SystemModstamp"] <= ANCHOR
    ids = [o["Id"] for o in opps]
    assert ids == sorted(ids)  # ids grow with CreatedDate, as in a real org
    assert [o["CreatedDate"] for o in opps] == sorted(o["CreatedDate"] for o in opps)


def test_generated_org_has_stale_deals(org: OrgState) -> None:
    open_deals = [
        o for o in org.table("Opportunity").values() if not o["IsClosed"] and not o["IsDeleted"]
    ]
    long_in_stage = [
        o for o in open_deals if ANCHOR - o["LastStageChangeDate"] > timedelta(days=75)
    ]
    quiet = [
        o
        for o in open_deals
        if o["LastActivityDate"] is not None and (ANCHOR.date() - o["LastActivityDate"]).days > 60
    ]
    past_close = [o for o in open_deals if o["CloseDate"] < ANCHOR.date() - timedelta(days=7)]
    assert len(long_in_stage) > len(open_deals) // 10
    assert len(quiet) > len(open_deals) // 20
    assert past_close


def test_history_is_consistent_with_the_current_stage(org: OrgState) -> None:
    by_opp: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in org.table("OpportunityHistory").values():
        by_opp[row["OpportunityId"]].append(row)
    opps = org.table("Opportunity")
    assert by_opp.keys() == opps.keys()
    assert statistics.mean(len(rows) for rows in by_opp.values()) > 2
    for opp_id, rows in by_opp.items():
        opp = opps[opp_id]
        times = [r["CreatedDate"] for r in rows]
        assert times == sorted(times) and len(set(times)) == len(times)
        assert times[0] == opp["CreatedDate"]
        assert times[-1] == opp["LastStageChangeDate"]
        assert rows[-1]["StageName"] == opp["StageName"]
        assert rows[-1]["Amount"] == opp["Amount"]
        assert all(r["IsDeleted"] == opp["IsDeleted"] for r in rows)
        assert rows[0]["PrevAmount"] is None
        assert all(b["PrevAmount"] == a["Amount"] for a, b in pairwise(rows))
        sort_orders = [org.stage(r["StageName"])["SortOrder"] for r in rows]  # type: ignore[index]
        assert sort_orders == sorted(sort_orders)


def test_generation_is_fast() -> None:
    started = time.perf_counter()
    generate(deals=20_000, seed=1)
    assert time.perf_counter() - started < 15  # ~0.5 s alone; generous for a shared CI box


# -- fixtures -----------------------------------------------------------------------------------
def load(section: dict[str, Any]) -> OrgState:
    api = create_api(fixture=section, deals=0, seed=0, write_log=WriteLog())
    return api.state  # type: ignore[attr-defined,no-any-return]


def test_fixture_is_loaded_exactly() -> None:
    state = load(copy.deepcopy(WORLD))
    assert len(state.table("Opportunity")) == 4
    assert len(state.table("OpportunityHistory")) == 4
    assert len(state.table("User")) == 2
    assert state.table("User")["005Aa0000000001IAA"]["Name"] == "Ann Lee"
    pilot = state.table("Opportunity")["006Aa0000000001IAA"]
    assert pilot["CloseDate"] == date(2026, 7, 31)
    assert pilot["CreatedDate"] == datetime(2026, 5, 1, 9, tzinfo=UTC)
    assert (pilot["ForecastCategory"], pilot["ExpectedRevenue"]) == ("Pipeline", 240.0)
    history = state.table("OpportunityHistory")["008Aa0000000001IAA"]
    assert (history["Probability"], history["CurrencyIsoCode"], history["CreatedById"]) == (
        10.0,
        "EUR",
        "005Aa0000000001IAA",
    )


def test_empty_fixture_is_an_empty_org() -> None:
    state = load({})
    assert len(state.table("Opportunity")) == 0
    assert len(state.table("User")) == 0
    assert len(state.table("OpportunityStage")) == 10
    assert [c["IsoCode"] for c in state.table("CurrencyType").values()] == ["USD"]


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(section: dict[str, Any]) -> None:
        target: Any = section
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (
            _set(["opportunities", 2, "CloseDate"], "2026-13-01"),
            "salesforce.opportunities[2].CloseDate",
        ),
        (_set(["opportunities", 0, "Foo__c"], 1), "salesforce.opportunities[0].Foo__c"),
        (_set(["opportunities", 1, "StageName"], "Nope"), "salesforce.opportunities[1].StageName"),
        (
            _set(["opportunities", 0, "OwnerId"], "005Aa0000000009IAA"),
            "salesforce.opportunities[0].OwnerId",
        ),
        (_set(["opportunities", 0, "Id"], "001Aa0000000001IAA"), "salesforce.opportunities[0].Id"),
        (_set(["opportunities", 1, "Id"], "006Aa0000000001IAA"), "salesforce.opportunities[1].Id"),
        (_set(["opportunities", 0, "Amount"], "12"), "salesforce.opportunities[0].Amount"),
        (
            _set(["opportunities", 0, "CurrencyIsoCode"], "CHF"),
            "salesforce.opportunities[0].CurrencyIsoCode",
        ),
        (
            _set(["opportunities", 0, "Pipeline_Stale_Reason__c"], "x" * 256),
            "salesforce.opportunities[0].Pipeline_Stale_Reason__c",
        ),
        (_set(["users", 0, "IsActive"], "yes"), "salesforce.users[0].IsActive"),
        (
            _set(["currency_types", 0, "ConversionRate"], -1),
            "salesforce.currency_types[0].ConversionRate",
        ),
        (
            _set(["opportunity_custom_fields", 1, "type"], "blob"),
            "salesforce.opportunity_custom_fields[1]",
        ),
        (
            _set(["opportunity_history", 0, "OpportunityId"], "006Aa0000000009IAA"),
            "salesforce.opportunity_history[0].OpportunityId",
        ),
        (_set(["opportunities"], {"not": "a list"}), "salesforce.opportunities"),
        (_set(["bogus"], 1), "salesforce.bogus"),
        (_set(["multi_currency"], False), "salesforce.currency_types"),
    ],
)
def test_bad_fixture_is_refused_with_its_path(
    mutate: Callable[[dict[str, Any]], None], path: str
) -> None:
    section = copy.deepcopy(WORLD)
    mutate(section)
    with pytest.raises(FixtureError) as caught:
        load(section)
    assert caught.value.path == path


def test_single_currency_fixture_refuses_currency_codes() -> None:
    section = copy.deepcopy(WORLD)
    section["multi_currency"] = False
    del section["currency_types"]
    with pytest.raises(FixtureError) as caught:
        load(section)
    assert caught.value.path == "salesforce.opportunities[0].CurrencyIsoCode"


def test_server_refuses_a_bad_fixture_at_start() -> None:
    section = copy.deepcopy(WORLD)
    section["opportunities"][3]["CloseDate"] = "31/01/2026"
    with pytest.raises(FixtureError) as caught:
        SandboxServer(fixture={"salesforce": section}, apis=("salesforce",))
    assert caught.value.path == "salesforce.opportunities[3].CloseDate"
