"""HubSpot connector end to end: hubspot-api-client against the sandbox over HTTPS."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from connectors.base import (
    OWNER_COLUMNS,
    RATE_COLUMNS,
    CrmConnector,
    DealPage,
    FlagUpdate,
    QuotaExhausted,
    TruncatedResponse,
)
from connectors.hubspot_transport import HubSpotAuthError
from connectors.hubspot_windows import WindowAction, WindowQueue, format_epoch_ms

pytestmark = pytest.mark.e2e

FLAG_PROPERTIES = [
    {"name": "pipeline_stale", "type": "bool", "fieldType": "booleancheckbox"},
    {"name": "pipeline_stale_reason", "type": "string", "fieldType": "text"},
    {"name": "pipeline_stale_since", "type": "date", "fieldType": "date"},
]

WORLD: dict[str, Any] = {
    "hubspot": {
        "owners": [
            {"id": "101", "email": "ann@example.com", "firstName": "Ann", "lastName": "Lee"},
            {"id": "102", "email": "bob@example.com", "firstName": "Bob", "lastName": "Ray"},
        ],
        "companies": [
            {"id": "501", "properties": {"name": "Acme", "industry": "SOFTWARE"}},
            {"id": "502", "properties": {"name": "Globex", "country": "France"}},
        ],
        "deal_properties": FLAG_PROPERTIES,
        "deals": [
            {
                "id": "9001",
                "properties": {
                    "dealname": "Acme platform",
                    "amount": "1200.50",
                    "dealstage": "contractsent",
                    "hubspot_owner_id": "101",
                    "deal_currency_code": "EUR",
                    "createdate": "2026-01-01T09:00:00.000Z",
                    "closedate": "2026-07-31T00:00:00.000Z",
                },
                "stage_history": [
                    {"value": "appointmentscheduled", "timestamp": "2026-01-01T09:00:00.000Z"},
                    {"value": "qualifiedtobuy", "timestamp": "2026-01-10T09:00:00.000Z"},
                    {"value": "appointmentscheduled", "timestamp": "2026-01-20T09:00:00.000Z"},
                    {"value": "contractsent", "timestamp": "2026-02-01T09:00:00.000Z"},
                ],
                "companies": ["501", "502"],
            },
            {
                "id": "9002",
                "properties": {"dealname": "Globex renewal", "dealstage": "closedwon"},
                "stage_history": [
                    {"value": "appointmentscheduled", "timestamp": "2026-02-01T09:00:00.000Z"},
                    {"value": "closedwon", "timestamp": "2026-03-01T09:00:00.000Z"},
                ],
                "companies": ["502"],
            },
            {
                "id": "9003",
                "properties": {
                    "dealname": "No company",
                    "dealstage": "qualifiedtobuy",
                    "createdate": "2026-03-05T09:00:00.000Z",
                },
            },
            {
                "id": "9004",
                "archived": True,
                "properties": {
                    "dealname": "Gone",
                    "dealstage": "qualifiedtobuy",
                    "createdate": "2026-03-06T09:00:00.000Z",
                },
            },
        ],
    }
}


def all_deals(pages: list[DealPage]) -> list[dict[str, Any]]:
    """Every deal payload of a sync, in order."""
    return [deal for page in pages for deal in page.deals]


def ids_of(pages: list[DealPage]) -> list[str]:
    """Deal ids of a sync, in order, duplicates kept."""
    return [str(deal["id"]) for deal in all_deals(pages)]


def spy_on_windows(monkeypatch: pytest.MonkeyPatch) -> list[WindowAction]:
    """Record every decision the search takes on its windows."""
    actions: list[WindowAction] = []
    original = WindowQueue.settle

    def settle(self: WindowQueue, window: Any, total: int) -> WindowAction:
        action = original(self, window, total)
        actions.append(action)
        return action

    monkeypatch.setattr(WindowQueue, "settle", settle)
    return actions


def state_of(server: Any) -> Any:
    """The sandbox portal's state (for expectations only; the connector never sees it)."""
    return server.apis["hubspot"].state


# ---------------------------------------------------------------- small exact world


def test_catalogs_from_the_fixture(
    hubspot_sandbox: Callable[..., Any], hubspot_connector: Callable[..., Any]
) -> None:
    server = hubspot_sandbox(fixture=WORLD)
    connector = hubspot_connector(server)
    assert isinstance(connector, CrmConnector)
    assert connector.source_type == "hubspot"

    stages = connector.stages()
    won = stages.set_index("stage_id").loc["closedwon"]
    assert won["is_closed"] is True and won["is_won"] is True
    lost = stages.set_index("stage_id").loc["closedlost"]
    assert lost["is_closed"] is True and lost["is_won"] is False
    assert stages.set_index("stage_id").loc["contractsent", "is_closed"] is False
    assert len(stages) == 7  # the default pipeline of crm-apis.md B4
    assert connector.api_calls == 1

    owners = connector.owners()
    assert tuple(owners.columns) == OWNER_COLUMNS
    assert sorted(owners["name"]) == ["Ann Lee", "Bob Ray"]
    assert connector.api_calls == 3  # one page of active owners, one of archived ones

    accounts = [frame for frame in connector.accounts()]
    rows = {r["account_id"]: r for frame in accounts for r in frame.to_dict("records")}
    assert rows["501"]["name"] == "Acme" and rows["502"]["country"] == "France"
    assert connector.currency_rates().columns.tolist() == list(RATE_COLUMNS)


def test_first_sync_exact_values_history_company_and_archived(
    hubspot_sandbox: Callable[..., Any], hubspot_connector: Callable[..., Any]
) -> None:
    server = hubspot_sandbox(fixture=WORLD)
    connector = hubspot_connector(server)
    pages = list(connector.deals_since(None))

    assert sorted(ids_of(pages)) == ["9001", "9002", "9003", "9004"]
    assert [p.cursor for p in pages[:-1]] == [None] * (len(pages) - 1)
    # The cursor is the latest modification stamp: 9003's createdate (the newest deal).
    assert pages[-1].cursor == "2026-03-05T09:00:00.000Z"

    frame = connector.flatten_deals(all_deals(pages)).set_index("source_id")
    # The extract's cheap id-and-stamp read agrees with the full flatten.
    assert connector.deal_stamps(all_deals(pages)) == list(
        zip(frame.index, frame["last_modified_at"], strict=True)
    )
    assert frame.loc["9001", "amount"] == "1200.50"
    assert frame.loc["9001", "currency"] == "EUR"
    assert frame.loc["9001", "account_id"] == "501"
    assert frame.loc["9001", "owner_id"] == "101"
    assert frame.loc["9002", "account_id"] == "502"
    assert frame.loc["9002", "is_won"] is True and frame.loc["9002", "is_closed"] is True
    assert frame.loc["9003", "account_id"] is None
    assert frame.loc["9004", "is_deleted"] is True
    assert not frame.loc[["9001", "9002", "9003"], "is_deleted"].any()
    assert frame.loc["9001", "flag_stale"] is None  # the property exists but is unset

    history = connector.flatten_history([h for p in pages for h in p.history])
    stays = history[history["source_id"] == "9001"]
    assert stays["source_stage"].tolist() == [
        "appointmentscheduled",
        "qualifiedtobuy",
        "appointmentscheduled",
        "contractsent",
    ]
    assert stays["changed_at"].tolist()[-1] == "2026-02-01T09:00:00.000Z"


def test_incremental_with_a_recent_cursor_reads_only_changes(
    hubspot_sandbox: Callable[..., Any], hubspot_connector: Callable[..., Any]
) -> None:
    server = hubspot_sandbox(fixture=WORLD)
    connector = hubspot_connector(server, search_lookback_seconds=0)
    # 9003 (2026-03-05) is the only live deal modified at or after the cursor; the archived
    # 9004 (archived 2026-03-06) is reported deleted.
    pages = list(connector.deals_since("2026-03-05T09:00:00.000Z"))
    assert sorted(ids_of(pages)) == ["9003", "9004"]
    frame = connector.flatten_deals(all_deals(pages)).set_index("source_id")
    assert frame.loc["9004", "is_deleted"] is True
    assert frame.loc["9003", "is_deleted"] is False
    assert pages[-1].cursor == "2026-03-05T09:00:00.000Z"
    # Nothing changed after the archive: only the live deal at the cursor is read again.
    later = list(connector.deals_since("2026-03-06T09:00:00.001Z"))
    assert ids_of(later) == []


def test_read_deals_skips_missing_ids_and_deal_ids_lists_live_ones(
    hubspot_sandbox: Callable[..., Any], hubspot_connector: Callable[..., Any]
) -> None:
    server = hubspot_sandbox(fixture=WORLD)
    connector = hubspot_connector(server)
    read = connector.read_deals(["9001", "424242", "9004", "9002"])  # 207: two are missing
    assert sorted(str(d["id"]) for d in read) == ["9001", "9002"]
    assert sorted(i for page in connector.deal_ids() for i in page) == ["9001", "9002", "9003"]


def test_push_flags_isolates_a_bad_record_by_halving(
    hubspot_sandbox: Callable[..., Any], hubspot_connector: Callable[..., Any]
) -> None:
    server = hubspot_sandbox(fixture=WORLD)
    connector = hubspot_connector(server)
    updates = [
        FlagUpdate("9001", {"flagged": True, "reason": "stuck 47 days", "since": date(2026, 5, 1)}),
        FlagUpdate("424242", {"flagged": True}),  # unknown id: HubSpot rejects the whole batch
        FlagUpdate("9002", {"pipeline_stale": False, "pipeline_stale_reason": None}),
        FlagUpdate("9003", {"dealstage": "closedwon"}),  # never written: not a flag
    ]
    before = connector.api_calls
    results = connector.push_flags(updates)
    assert [r.source_id for r in results] == ["9001", "424242", "9002", "9003"]
    assert [r.success for r in results] == [True, False, True, False]
    assert "OBJECT_NOT_FOUND" in (results[1].error or "")
    assert "not a flag" in (results[3].error or "") or "only the flag" in (results[3].error or "")
    # One batch of 3 rejected, then halves [9001] and [424242, 9002], then [424242] and [9002].
    assert connector.api_calls - before == 5

    written = {(e.record_id, e.field): e.new for e in server.write_log.entries("hubspot")}
    assert written[("9001", "pipeline_stale")] == "true"
    assert written[("9001", "pipeline_stale_since")] == "2026-05-01"
    assert written[("9002", "pipeline_stale")] == "false"
    assert {field for _, field in written} <= {
        "pipeline_stale",
        "pipeline_stale_reason",
        "pipeline_stale_since",
    }
    assert not any(record == "9003" for record, _ in written)
    frame = connector.flatten_deals(connector.read_deals(["9001"]))
    assert frame.loc[0, "flag_stale"] is True
    assert frame.loc[0, "flag_reason"] == "stuck 47 days"


def test_long_property_lists_are_split_between_the_url_and_a_post_read(
    hubspot_sandbox: Callable[..., Any], hubspot_connector: Callable[..., Any]
) -> None:
    server = hubspot_sandbox(fixture=WORLD)
    roomy = hubspot_connector(server)
    tight = hubspot_connector(server, max_properties_query_chars=300)
    roomy_pages = list(roomy.deals_since(None))
    tight_pages = list(tight.deals_since(None))
    by_id = {str(d["id"]): d for d in all_deals(roomy_pages)}
    for deal in all_deals(tight_pages):
        if deal.get("archived"):
            continue
        assert deal["properties"] == by_id[str(deal["id"])]["properties"]
    assert tight.api_calls == roomy.api_calls + 1  # one POST read for the one live page
    assert roomy.flatten_history([h for p in roomy_pages for h in p.history]).equals(
        tight.flatten_history([h for p in tight_pages for h in p.history])
    )


# ---------------------------------------------------------------- generated portals


def test_first_sync_lists_every_deal_exactly_once(
    hubspot_sandbox: Callable[..., Any], hubspot_connector: Callable[..., Any]
) -> None:
    server = hubspot_sandbox(deals=160, seed=3)
    state = state_of(server)
    connector = hubspot_connector(server)
    pages = list(connector.deals_since(None))
    ids = ids_of(pages)
    assert len(ids) == len(set(ids))
    expected = {str(i) for i in state.active_ids} | {str(i) for i in state.archived_ids}
    assert set(ids) == expected
    assert state.archived_ids, "the generated portal should hold archived deals"
    frame = connector.flatten_deals(all_deals(pages)).set_index("source_id")
    assert set(frame.index[frame["is_deleted"]]) == {str(i) for i in state.archived_ids}
    live = [d for d in all_deals(pages) if not d.get("archived")]
    assert all(d["propertiesWithHistory"]["dealstage"] for d in live)
    with_company = {d.id for d in state.deals.values() if d.companies and not d.archived}
    assert with_company and set(frame.index[frame["account_id"].notna()]) >= with_company
    history = connector.flatten_history([h for p in pages for h in p.history])
    assert set(history["source_id"]) == {str(i) for i in [*state.active_ids, *state.archived_ids]}
    newest = max(d.modified_ms for d in state.deals.values() if not d.archived)
    assert pages[-1].cursor == format_epoch_ms(newest)


def test_incremental_picks_up_batch_updates_made_in_the_same_second(
    hubspot_sandbox: Callable[..., Any], hubspot_connector: Callable[..., Any]
) -> None:
    server = hubspot_sandbox(deals=300, seed=4)
    state = state_of(server)
    connector = hubspot_connector(server, search_lookback_seconds=1)
    first = list(connector.deals_since(None))
    cursor = first[-1].cursor
    assert cursor is not None
    changed = [str(i) for i in state.active_ids[:120]]
    results = connector.push_flags(
        [FlagUpdate(i, {"flagged": True, "reason": "r", "since": "2026-05-01"}) for i in changed]
    )
    assert all(r.success for r in results)
    stamps = [state.deals[i].modified_ms for i in changed[:100]]
    assert max(stamps) - min(stamps) < 1000  # one batch of 100: all in the same second

    pages = list(connector.deals_since(cursor))
    ids = ids_of(pages)
    assert set(changed) <= set(ids)
    frame = connector.flatten_deals(all_deals(pages)).set_index("source_id")
    assert frame.loc[changed, "flag_stale"].tolist() == [True] * len(changed)
    cursors = [p.cursor for p in pages if p.deals and not p.deals[0].get("archived")]
    assert cursors == sorted(cursors) and cursors[-1] > cursor


def test_more_than_ten_thousand_changes_survive_the_search_cap(
    hubspot_sandbox: Callable[..., Any],
    hubspot_connector: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = hubspot_sandbox(deals=12_000, seed=5)
    state = state_of(server)
    assert len(state.active_ids) > 10_000
    # One window spanning everything: its total is over the cap, so it must be halved.
    connector = hubspot_connector(server, search_window_seconds=20 * 365 * 86_400)
    # Only the search is under test here: the per-page batch reads are tested above.
    monkeypatch.setattr(
        connector._deals, "_read_full", lambda ids: [{"id": i, "properties": {}} for i in ids]
    )
    actions = spy_on_windows(monkeypatch)
    oldest = min(d.modified_ms for d in state.deals.values())
    pages = list(connector.deals_since(format_epoch_ms(oldest)))
    assert actions[0] is WindowAction.SPLIT and WindowAction.BY_ID not in actions
    # Paging one window of 12,000 by offset would have hit HubSpot's 400 at after=10,000.
    live = [str(d["id"]) for p in pages for d in p.deals if not d.get("archived")]
    assert len(live) == len(set(live))
    assert set(live) == {str(i) for i in state.active_ids}


def test_one_crowded_millisecond_is_paged_by_object_id(
    hubspot_sandbox: Callable[..., Any],
    hubspot_connector: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stamp = "2026-04-01T12:00:00.000Z"
    deals = [
        {
            "id": str(7000 + n),
            "properties": {
                "dealname": f"bulk {n}",
                "dealstage": "appointmentscheduled",
                "createdate": stamp,
                "hs_lastmodifieddate": stamp,
            },
        }
        for n in range(130)
    ]
    server = hubspot_sandbox(fixture={"hubspot": {"deals": deals}})
    # A cap of 50 makes this one millisecond "over the cap" with a small world.
    connector = hubspot_connector(
        server, search_max_results=50, search_page_size=40, search_lookback_seconds=0
    )
    actions = spy_on_windows(monkeypatch)
    pages = list(connector.deals_since("2026-03-01T00:00:00.000Z"))
    assert actions.count(WindowAction.BY_ID) == 1
    ids = ids_of(pages)
    assert sorted(ids) == sorted(d["id"] for d in deals)
    assert len(ids) == len(set(ids))
    assert pages[-1].cursor == stamp


def test_lag_is_survived_by_the_next_sync(
    hubspot_sandbox: Callable[..., Any], hubspot_connector: Callable[..., Any]
) -> None:
    server = hubspot_sandbox(deals=40, seed=6)
    state = state_of(server)
    connector = hubspot_connector(server)
    cursor = list(connector.deals_since(None))[-1].cursor
    target = str(state.active_ids[0])
    assert connector.push_flags([FlagUpdate(target, {"flagged": True})])[0].success
    server.set_faults("lag=1")
    second = list(connector.deals_since(cursor))
    assert target not in ids_of(second)  # the index has not caught up yet
    assert server.fault_counts.get("lag", 0) > 0
    cursor = max(p.cursor for p in second if p.cursor) if any(p.cursor for p in second) else cursor
    time.sleep(5.2)  # the sandbox's index lags 5 s
    third = list(connector.deals_since(cursor))
    assert target in ids_of(third)


# ---------------------------------------------------------------- faults


def test_retries_429_500_503(
    hubspot_sandbox: Callable[..., Any], hubspot_connector: Callable[..., Any]
) -> None:
    server = hubspot_sandbox(deals=120, seed=7, faults="429=0.2,500=0.1,503=0.1")
    state = state_of(server)
    connector = hubspot_connector(server, retry_attempts=8)
    pages = list(connector.deals_since(None))
    expected = {str(i) for i in state.active_ids} | {str(i) for i in state.archived_ids}
    assert set(ids_of(pages)) == expected
    counts = server.fault_counts
    injected = sum(counts.get(name, 0) for name in ("429", "500", "503"))
    assert injected > 0
    stages = connector.stages()
    assert len(stages) > 0
    # Every injected fault cost one extra call.
    assert connector.api_calls == server.faults.requests


def test_retries_reset_and_timeout(
    hubspot_sandbox: Callable[..., Any], hubspot_connector: Callable[..., Any]
) -> None:
    server = hubspot_sandbox(deals=60, seed=8, hold_seconds=2.0)
    connector = hubspot_connector(server, timeout=0.5)
    connector.deal_properties()
    done = server.faults.requests
    # The archived listing, the first live listing page (GET), and a search (POST) later.
    server.set_faults(f"reset@{done + 1},timeout@{done + 3}")
    pages = list(connector.deals_since(None))
    assert server.fault_counts.get("reset") == 1 and server.fault_counts.get("timeout") == 1
    state = state_of(server)
    assert len(set(ids_of(pages))) == len(state.active_ids) + len(state.archived_ids)

    done = server.faults.requests
    server.set_faults(f"timeout@{done + 2},reset@{done + 3}")  # the search POST, twice
    oldest = min(d.modified_ms for d in state.deals.values())
    again = list(connector.deals_since(format_epoch_ms(oldest)))
    assert {str(i) for i in state.active_ids} <= set(ids_of(again))
    assert server.fault_counts.get("reset") == 2 and server.fault_counts.get("timeout") == 2


def test_daily_quota_stops_with_a_clear_message(
    hubspot_sandbox: Callable[..., Any], hubspot_connector: Callable[..., Any]
) -> None:
    server = hubspot_sandbox(fixture=WORLD, faults="quota=1")
    connector = hubspot_connector(server)
    with pytest.raises(QuotaExhausted, match="daily API limit"):
        connector.stages()
    assert connector.api_calls == 1  # not retried
    with pytest.raises(QuotaExhausted):  # and the guard keeps refusing
        connector.owners()
    assert connector.api_calls == 1


def test_configured_quota_share_stops_the_run(
    hubspot_sandbox: Callable[..., Any], hubspot_connector: Callable[..., Any]
) -> None:
    server = hubspot_sandbox(fixture=WORLD)
    # The sandbox reports a daily limit of 500,000: a share of 4e-6 is 2 calls.
    connector = hubspot_connector(server, max_quota_share=4e-6)
    connector.stages()
    with pytest.raises(QuotaExhausted, match="max_quota_share"):
        connector.stages()


def test_truncated_page_raises_instead_of_ending_early(
    hubspot_sandbox: Callable[..., Any], hubspot_connector: Callable[..., Any]
) -> None:
    server = hubspot_sandbox(deals=60, seed=9)
    connector = hubspot_connector(server)
    connector.deal_properties()
    server.set_faults("truncate=1")
    with pytest.raises(TruncatedResponse, match="not whole JSON"):
        list(connector.deals_since(None))
    assert server.fault_counts.get("truncate") == 1  # failed at once, not retried


def test_expired_token_is_a_clear_error_without_the_token(
    hubspot_sandbox: Callable[..., Any], hubspot_connector: Callable[..., Any]
) -> None:
    server = hubspot_sandbox(fixture=WORLD, faults="expire=1")
    connector = hubspot_connector(server)
    token = server.env()["HUBSPOT_ACCESS_TOKEN"]
    with pytest.raises(HubSpotAuthError) as info:
        connector.stages()
    message = str(info.value)
    assert "cannot be refreshed" in message and "HUBSPOT_ACCESS_TOKEN" in message
    assert "expired" in message
    assert token not in message and token not in repr(connector)
    assert connector.api_calls == 1


def test_two_instances_are_two_connectors(
    hubspot_sandbox: Callable[..., Any], hubspot_connector: Callable[..., Any]
) -> None:
    first = hubspot_sandbox(fixture=WORLD)
    second = hubspot_sandbox(deals=30, seed=10)
    a = hubspot_connector(first, source="hubspot_eu")
    b = hubspot_connector(second, source="hubspot_us")
    assert (a.source, b.source) == ("hubspot_eu", "hubspot_us")
    assert sorted(i for page in a.deal_ids() for i in page) == ["9001", "9002", "9003"]
    assert len([i for page in b.deal_ids() for i in page]) == len(state_of(second).active_ids)
    assert a.api_calls == 1 and b.api_calls >= 1
