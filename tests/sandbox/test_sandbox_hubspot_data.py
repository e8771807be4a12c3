"""HubSpot sandbox data: fixture loading and refusal, generated portals, reproducibility."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest

from connectors.sandbox.api import FixtureError, WriteLog
from connectors.sandbox.hubspot import create_api
from connectors.sandbox.hubspot.fixture import load_state
from connectors.sandbox.hubspot.generate import generate_state

P02 = "0.200000000000000011102230246251565404236316680908203125"
P04 = "0.40000000000000002220446049250313080847263336181640625"


def test_fixture_derives_what_hubspot_calculates(world) -> None:
    state = load_state(world)
    open_deal, won, lost = (
        state.deals["9001"].props,
        state.deals["9002"].props,
        state.deals["9003"].props,
    )
    assert (open_deal["hs_is_closed"], open_deal["hs_is_closed_won"]) == ("false", "false")
    assert open_deal["hs_deal_stage_probability"] == P04
    assert state.deals["9005"].props["hs_deal_stage_probability"] == P02
    assert (won["hs_is_closed"], won["hs_is_closed_won"], won["hs_deal_stage_probability"]) == (
        "true",
        "true",
        "1",
    )
    assert (lost["hs_is_closed"], lost["hs_is_closed_won"], lost["hs_deal_stage_probability"]) == (
        "true",
        "false",
        "0",
    )
    assert open_deal["hs_v2_date_entered_appointmentscheduled"] == "2026-05-01T09:00:00.000Z"
    assert open_deal["hs_v2_date_exited_appointmentscheduled"] == "2026-05-10T12:30:00.000Z"
    assert open_deal["hs_v2_date_entered_qualifiedtobuy"] == "2026-05-10T12:30:00.000Z"
    assert "hs_v2_date_exited_qualifiedtobuy" not in open_deal
    assert lost["hs_lastmodifieddate"] == "2026-03-15T08:00:00.000Z"  # latest history entry
    assert [s for s, _ms, _src in state.deals["9002"].stages] == [
        "appointmentscheduled",
        "contractsent",
        "closedwon",
    ]
    assert state.deals["9005"].stages == [("appointmentscheduled", 1777680000000, "CRM_UI")]
    assert state.archived_ids == [9004]


def test_empty_fixture_is_an_empty_portal_with_standard_properties() -> None:
    api = create_api(fixture={}, deals=1000, seed=0, write_log=WriteLog())
    state = api.state  # type: ignore[attr-defined]
    assert state.deals == {}
    assert "dealname" in state.properties
    assert "pipeline_stale" not in state.properties


def _set(world: dict, dotted: list, value: object) -> None:
    target = world
    for key in dotted[:-1]:
        target = target[key]
    if value is ...:
        del target[dotted[-1]]
    else:
        target[dotted[-1]] = value


@pytest.mark.parametrize(
    ("where", "value", "path"),
    [
        (["deals", 3, "properties", "amount"], "lots", "hubspot.deals[3].properties.amount"),
        (["deals", 0, "properties", "amount"], 1200, "hubspot.deals[0].properties.amount"),
        (["deals", 1, "properties", "no_such"], "x", "hubspot.deals[1].properties.no_such"),
        (
            ["deals", 1, "properties", "hs_is_closed"],
            "true",
            "hubspot.deals[1].properties.hs_is_closed",
        ),
        (
            ["deals", 0, "properties", "dealstage"],
            "renewal_won",
            "hubspot.deals[0].properties.dealstage",
        ),
        (
            ["deals", 0, "properties", "hubspot_owner_id"],
            "999",
            "hubspot.deals[0].properties.hubspot_owner_id",
        ),
        (["deals", 0, "properties", "closedate"], "July", "hubspot.deals[0].properties.closedate"),
        (
            ["deals", 4, "properties", "pipeline_stale_since"],
            "2026-05-24T10:00:00Z",
            "hubspot.deals[4].properties.pipeline_stale_since",
        ),
        (
            ["deals", 4, "properties", "pipeline_stale"],
            "yes",
            "hubspot.deals[4].properties.pipeline_stale",
        ),
        (["deals", 0, "stage_history", 1, "value"], "closedwon", "hubspot.deals[0].stage_history"),
        (
            ["deals", 0, "stage_history", 0, "timestamp"],
            "soon",
            "hubspot.deals[0].stage_history[0].timestamp",
        ),
        (["deals", 0, "companies", 0], "999", "hubspot.deals[0].companies[0]"),
        (["deals", 1, "id"], "9001", "hubspot.deals[1].id"),
        (["deals", 2, "id"], "abc", "hubspot.deals[2].id"),
        (["deals", 2, "archived"], "no", "hubspot.deals[2].archived"),
        (["owners", 1, "email"], ..., "hubspot.owners[1].email"),
        (["deal_properties", 0, "type"], "boolean", "hubspot.deal_properties[0].type"),
        (["deal_properties", 1, "fieldType"], "text", "hubspot.deal_properties[1].fieldType"),
        (["companies", 0], [], "hubspot.companies[0]"),
        (["colour"], "red", "hubspot.colour"),
    ],
)
def test_bad_fixture_is_refused_with_the_path(world, where, value, path) -> None:
    _set(world, where, value)
    with pytest.raises(FixtureError) as caught:
        load_state(world)
    assert caught.value.path == path


def test_bad_pipeline_metadata_is_refused() -> None:
    section = {
        "pipelines": [
            {
                "id": "p",
                "label": "P",
                "stages": [
                    {
                        "id": "s1",
                        "label": "S1",
                        "metadata": {"isClosed": "false", "probability": "1.5"},
                    }
                ],
            }
        ]
    }
    with pytest.raises(FixtureError) as caught:
        load_state(section)
    assert caught.value.path == "hubspot.pipelines[0].stages[0].metadata.probability"


def _fingerprint(seed: int) -> list[tuple]:
    state = generate_state(deals=300, seed=seed)
    return [
        (d.id, sorted(d.props.items()), d.stages, d.companies, d.archived)
        for d in state.deals.values()
    ]


def test_same_seed_same_data() -> None:
    assert _fingerprint(4) == _fingerprint(4)
    assert _fingerprint(4) != _fingerprint(5)


def test_generated_portal_has_what_the_spec_lists() -> None:
    state = generate_state(deals=2000, seed=1)
    deals = list(state.deals.values())
    assert len(deals) == 2000
    assert {p["id"] for p in state.pipelines} == {"default", "renewals"}
    pipelines = Counter(d.props["pipeline"] for d in deals)
    assert pipelines["renewals"] > 200
    assert all(
        d.props["dealtype"] == "existingbusiness"
        for d in deals
        if d.props["pipeline"] == "renewals"
    )
    assert {d.props["deal_currency_code"] for d in deals} == {"USD", "EUR", "GBP"}
    assert 20 < sum(d.archived for d in deals) < 120
    assert all(d.archived_at for d in deals if d.archived)
    stages = Counter(d.props["dealstage"] for d in deals)
    assert stages["closedwon"] > 100 and stages["closedlost"] > 100 and stages["renewal_won"] > 10
    for name in ("pipeline_stale", "pipeline_stale_reason", "pipeline_stale_since"):
        assert name in state.properties
    assert any(d.props.get("pipeline_stale") == "true" for d in deals)
    amounts = sorted(Decimal(d.props["amount"]) for d in deals if "amount" in d.props)
    assert amounts[-1] > 10 * amounts[len(amounts) // 2]  # long tail
    assert sum("notes_last_updated" in d.props for d in deals) > 1500
    assert sum("hs_last_sales_activity_timestamp" in d.props for d in deals) > 1000
    for deal in deals:  # histories consistent with the current stage
        assert deal.stages[-1][0] == deal.props["dealstage"]
        assert [ms for _s, ms, _src in deal.stages] == sorted(ms for _s, ms, _src in deal.stages)
        assert (
            deal.props["hs_v2_date_entered_" + deal.props["dealstage"]]
            <= deal.props["hs_lastmodifieddate"]
        )
        assert state.stage_in_pipeline(deal.props["dealstage"], deal.props["pipeline"]) is not None
        won = deal.props["dealstage"] in ("closedwon", "renewal_won")
        assert deal.props["hs_is_closed_won"] == ("true" if won else "false")
    open_deals = [d for d in deals if d.props["hs_is_closed"] == "false" and not d.archived]
    now_ms = max(ms for d in deals for _s, ms, _src in d.stages)
    stuck = [d for d in open_deals if now_ms - d.stages[-1][1] > 45 * 86_400_000]
    assert 0.1 * len(open_deals) < len(stuck) < 0.6 * len(open_deals)
