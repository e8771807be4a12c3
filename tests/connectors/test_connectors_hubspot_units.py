"""HubSpot connector pure parts: settings, search windows, properties, flag encoding, halving."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from connectors.base import FlagUpdate
from connectors.hubspot_flags import (
    BatchInput,
    BatchRejected,
    encode_date,
    encode_update,
    write_in_halves,
)
from connectors.hubspot_properties import (
    query_chars,
    select_deal_properties,
    split_for_query,
)
from connectors.hubspot_settings import HubSpotSettings
from connectors.hubspot_windows import (
    Window,
    WindowAction,
    WindowQueue,
    decide,
    format_epoch_ms,
    halve,
    initial_windows,
    to_epoch_ms,
)

FLAGS = {
    "flag_stale": "pipeline_stale",
    "flag_reason": "pipeline_stale_reason",
    "flag_since": "pipeline_stale_since",
}

# ---------------------------------------------------------------- settings


def test_from_env_reads_the_three_variables() -> None:
    env = {
        "HUBSPOT_ACCESS_TOKEN": "pat-na1-secret",
        "HUBSPOT_BASE_URL": "https://127.0.0.1:8443/",
        "PIPELINES_ETL_CA_BUNDLE": "/tmp/ca.pem",
    }
    settings = HubSpotSettings.from_env(env, timeout=5)
    assert settings.access_token.get_secret_value() == "pat-na1-secret"
    assert settings.base_url == "https://127.0.0.1:8443"
    assert settings.ca_bundle == "/tmp/ca.pem"
    assert settings.timeout == 5


def test_from_env_defaults_and_missing_token() -> None:
    assert HubSpotSettings.from_env({"HUBSPOT_ACCESS_TOKEN": "t"}).base_url == (
        "https://api.hubapi.com"
    )
    with pytest.raises(ValueError, match="HUBSPOT_ACCESS_TOKEN"):
        HubSpotSettings.from_env({"HUBSPOT_BASE_URL": "https://x"})
    with pytest.raises(ValueError, match="HUBSPOT_ACCESS_TOKEN"):
        HubSpotSettings.from_env({"HUBSPOT_ACCESS_TOKEN": "  "})


def test_secret_never_in_repr_or_validation_errors() -> None:
    settings = HubSpotSettings.from_env({"HUBSPOT_ACCESS_TOKEN": "pat-na1-topsecret"})
    assert "topsecret" not in repr(settings)
    assert "topsecret" not in str(settings)
    with pytest.raises(ValueError) as info:
        HubSpotSettings(access_token="pat-na1-topsecret", base_url="ftp://nope")
    assert "topsecret" not in str(info.value)


@pytest.mark.parametrize(
    "override",
    [{"search_page_size": 201}, {"batch_size": 101}, {"history_page_size": 51}, {"timeout": 0}],
)
def test_settings_reject_limits_hubspot_refuses(override: dict) -> None:
    with pytest.raises(ValueError):
        HubSpotSettings(access_token="t", **override)


# ---------------------------------------------------------------- time and windows


def test_epoch_ms_round_trip_and_formats() -> None:
    assert to_epoch_ms("1970-01-01T00:00:01.500Z") == 1500
    assert to_epoch_ms("2024-05-01T12:00:00.123Z") == 1714564800123
    assert to_epoch_ms("2024-05-01T14:00:00.123+02:00") == 1714564800123
    assert to_epoch_ms("1714564800123") == 1714564800123
    assert to_epoch_ms("2024-05-01") == 1714521600000
    assert to_epoch_ms("not a time") is None and to_epoch_ms("") is None
    assert format_epoch_ms(1714564800123) == "2024-05-01T12:00:00.123Z"
    assert format_epoch_ms(1714564800000) == "2024-05-01T12:00:00.000Z"


def test_initial_windows_cover_range_contiguously() -> None:
    assert initial_windows(0, 9, span_ms=4) == [Window(0, 3), Window(4, 7), Window(8, 9)]
    assert initial_windows(5, 5, span_ms=100) == [Window(5, 5)]
    assert initial_windows(6, 5, span_ms=100) == []
    with pytest.raises(ValueError):
        initial_windows(0, 1, span_ms=0)


def test_halve_and_decide() -> None:
    assert halve(Window(0, 9)) == (Window(0, 4), Window(5, 9))
    assert halve(Window(3, 4)) == (Window(3, 3), Window(4, 4))
    with pytest.raises(ValueError):
        halve(Window(3, 3))
    assert decide(Window(0, 9), 9_999, cap=10_000) is WindowAction.PAGE
    assert decide(Window(0, 9), 10_000, cap=10_000) is WindowAction.SPLIT
    assert decide(Window(4, 4), 12_000, cap=10_000) is WindowAction.BY_ID
    with pytest.raises(ValueError):
        Window(2, 1)


def drain(queue: WindowQueue, stamps: Sequence[int]) -> list[tuple[Window, WindowAction]]:
    """Run the queue to the end, with totals counted from `stamps` like a search would."""
    settled = []
    while queue:
        window = queue.pop()
        total = sum(window.lo <= s <= window.hi for s in stamps)
        action = queue.settle(window, total)
        if action is not WindowAction.SPLIT:
            settled.append((window, action))
    return settled


def test_queue_splits_until_every_window_is_under_the_cap() -> None:
    # 12 changes in [0, 99], cap 5: windows must be halved until each holds < 5.
    stamps = [1, 2, 3, 4, 10, 11, 50, 51, 52, 60, 98, 99]
    settled = drain(WindowQueue(initial_windows(0, 99, span_ms=100), cap=5), stamps)
    windows = [w for w, _ in settled]
    assert all(a is WindowAction.PAGE for _, a in settled)
    # Oldest first, contiguous, and covering [0, 99] exactly once.
    assert windows[0].lo == 0 and windows[-1].hi == 99
    assert all(b.lo == a.hi + 1 for a, b in itertools.pairwise(windows))
    assert all(sum(w.lo <= s <= w.hi for s in stamps) < 5 for w in windows)
    assert sum(sum(w.lo <= s <= w.hi for s in stamps) for w in windows) == len(stamps)


def test_queue_falls_back_to_id_paging_for_one_crowded_millisecond() -> None:
    stamps = [7] * 6 + [8]
    settled = drain(WindowQueue([Window(0, 15)], cap=5), stamps)
    assert (Window(7, 7), WindowAction.BY_ID) in settled
    assert [w for w, a in settled if a is WindowAction.BY_ID] == [Window(7, 7)]
    assert sum(sum(w.lo <= s <= w.hi for s in stamps) for w, _ in settled) == 7


def test_queue_push_front_reads_the_rest_next() -> None:
    queue = WindowQueue([Window(0, 9), Window(10, 19)], cap=5)
    first = queue.pop()
    queue.push_front(Window(6, first.hi))
    assert queue.pop() == Window(6, 9)
    assert queue.pop() == Window(10, 19)
    assert not queue


# ---------------------------------------------------------------- properties


def test_select_properties_keeps_what_the_portal_has() -> None:
    available = {
        "dealname",
        "amount",
        "dealstage",
        "pipeline_stale",
        "hs_v2_date_entered_closedwon",
        "hs_v2_date_entered_appointmentscheduled",
        "hs_date_entered_closedwon",
    }
    chosen = select_deal_properties(available, flag_properties=FLAGS.values())
    assert chosen[:3] == ["dealname", "amount", "dealstage"]
    assert "pipeline_stale" in chosen and "pipeline_stale_reason" not in chosen
    assert "hs_forecast_category" not in chosen
    assert "hs_lastmodifieddate" in chosen  # always returned: requesting it is safe
    assert chosen[-2:] == [
        "hs_v2_date_entered_appointmentscheduled",
        "hs_v2_date_entered_closedwon",
    ]
    unknown = select_deal_properties(None, flag_properties=FLAGS.values())
    assert "hs_forecast_category" not in unknown and "pipeline_stale" not in unknown


def test_split_for_query_respects_budget_in_order() -> None:
    names = ["a" * 10, "b" * 10, "c" * 10]
    cost = query_chars("a" * 10)
    assert cost == len("&properties=") + 10
    assert split_for_query(names, max_chars=2 * cost) == (names[:2], names[2:])
    assert split_for_query(names, max_chars=10 * cost) == (names, [])
    # Once a name overflows, the rest go to the POST read too (order is kept).
    assert split_for_query(["x" * 50, "y"], max_chars=cost) == ([], ["x" * 50, "y"])


# ---------------------------------------------------------------- flags


def test_encode_update_values_and_names() -> None:
    update = FlagUpdate(
        "11",
        {
            "flag_stale": True,
            "pipeline_stale_reason": "stuck 47 days",
            "flag_since": date(2026, 5, 1),
        },
    )
    encoded = encode_update(update, flag_properties=FLAGS)
    assert encoded.properties == {
        "pipeline_stale": "true",
        "pipeline_stale_reason": "stuck 47 days",
        "pipeline_stale_since": "2026-05-01",
    }
    cleared = encode_update(
        FlagUpdate("11", {"flag_stale": False, "flag_reason": None, "flag_since": None}),
        flag_properties=FLAGS,
    )
    assert cleared.properties == {
        "pipeline_stale": "false",
        "pipeline_stale_reason": "",
        "pipeline_stale_since": "",
    }


def test_encode_refuses_non_flag_fields_and_bad_values() -> None:
    with pytest.raises(ValueError, match="dealstage"):
        encode_update(FlagUpdate("1", {"dealstage": "closedwon"}), flag_properties=FLAGS)
    with pytest.raises(ValueError):
        encode_update(FlagUpdate("1", {"flag_stale": "maybe"}), flag_properties=FLAGS)
    with pytest.raises(ValueError):
        encode_date(datetime(2026, 5, 1, 12, 0))  # naive


def test_encode_date_is_the_utc_date() -> None:
    plus_five = timezone(timedelta(hours=5))
    assert encode_date(datetime(2026, 5, 2, 3, 0, tzinfo=plus_five)) == "2026-05-01"
    assert encode_date(datetime(2026, 5, 1, tzinfo=UTC)) == "2026-05-01"
    assert encode_date("2026-05-01T00:00:00Z") == "2026-05-01"


def test_write_in_halves_isolates_the_bad_records() -> None:
    inputs = [BatchInput(str(i), {"pipeline_stale": "true"}) for i in range(8)]
    bad = {"3", "6"}
    calls: list[list[str]] = []

    def send(batch: Sequence[BatchInput]) -> Mapping[str, str | None]:
        ids = [b.source_id for b in batch]
        calls.append(ids)
        if bad & set(ids):
            raise BatchRejected("VALIDATION_ERROR: bad input")
        return {}

    results = write_in_halves(inputs, send)
    assert [r.source_id for r in results] == [str(i) for i in range(8)]
    assert {r.source_id for r in results if not r.success} == bad
    assert all(r.error == "VALIDATION_ERROR: bad input" for r in results if not r.success)
    assert all(not r.retriable for r in results if not r.success)
    # 8 -> 4+4 -> 2+2+2+2 -> the two bad pairs split: 1 + 2 + 4 + 4 calls.
    assert len(calls) == 11
    assert ["3"] in calls and ["6"] in calls


def test_write_in_halves_partial_errors_need_no_split() -> None:
    inputs = [BatchInput("1", {}), BatchInput("2", {})]
    results = write_in_halves(inputs, lambda batch: {"2": "OBJECT_NOT_FOUND: gone"})
    assert [(r.source_id, r.success, r.error) for r in results] == [
        ("1", True, None),
        ("2", False, "OBJECT_NOT_FOUND: gone"),
    ]
    assert write_in_halves([], lambda batch: {}) == []


# ---------------------------------------------------------------- module contract


def test_flag_fields_override_and_aliases() -> None:
    settings = HubSpotSettings.from_env(
        {"HUBSPOT_ACCESS_TOKEN": "t"},
        flag_fields={"flagged": "stale_x", "reason": "why_x", "since": "since_x"},
    )
    assert settings.flag_properties == {
        "flag_stale": "stale_x",
        "flag_reason": "why_x",
        "flag_since": "since_x",
    }
    encoded = encode_update(
        FlagUpdate("1", {"flagged": 1, "why_x": "r", "since": date(2026, 1, 2)}),
        flag_properties=settings.flag_properties,
    )
    assert encoded.properties == {"stale_x": "true", "why_x": "r", "since_x": "2026-01-02"}
    with pytest.raises(ValueError, match=r"flag_fields\.colour"):
        HubSpotSettings.from_env({"HUBSPOT_ACCESS_TOKEN": "t"}, flag_fields={"colour": "x"})


def test_module_contract_for_source_discovery() -> None:
    from connectors import hubspot

    assert hubspot.SOURCE_TYPE == "hubspot" and hubspot.ENV_PREFIX == "HUBSPOT_"
    assert hubspot.DEFAULT_STAGE_MAPPING["decisionmakerboughtin"] == 5
    assert "closedwon" not in hubspot.DEFAULT_STAGE_MAPPING
    assert frozenset({"existingbusiness"}) == hubspot.DEFAULT_RETENTION_DEAL_TYPES
    assert hubspot.credentials_present({"HUBSPOT_ACCESS_TOKEN": "pat"}) is True
    assert hubspot.credentials_present({"HUBSPOT_BASE_URL": "https://x"}) is False
    connector = hubspot.connector_from_env(
        source="hubspot_eu",
        env={"HUBSPOT_ACCESS_TOKEN": "pat-secret"},
        options={"timeout": 3},
    )
    assert connector.source == "hubspot_eu" and connector.settings.timeout == 3
    assert connector.api_calls == 0  # no network until a method needs it
    assert "pat-secret" not in repr(connector)


# ---------------------------------------------------------------- error translation


def client_error(status: int, body: str, headers: dict[str, str] | None = None) -> Exception:
    """The client's own ApiException, as rest.py raises it (body already decoded)."""
    from hubspot.crm.deals.exceptions import ApiException

    error = ApiException(status=status, reason="reason")
    error.body = body
    error.headers = headers or {}
    return error


def test_rate_limits_retry_and_daily_quota_stops() -> None:
    from connectors.base import QuotaExhausted
    from connectors.hubspot_transport import (
        HubSpotApiError,
        HubSpotAuthError,
        HubSpotTransport,
        is_retriable,
        retry_after_of,
    )

    transport = HubSpotTransport(HubSpotSettings(access_token="pat-x"), source="hs")
    short = transport._translate(
        "op",
        429,
        client_error(429, '{"policyName":"TEN_SECONDLY_ROLLING"}', {"Retry-After": "1"}),
    )
    assert isinstance(short, HubSpotApiError) and is_retriable(short)
    assert retry_after_of(short) == 1.0
    assert is_retriable(transport._translate("op", 503, client_error(503, "")))
    bad = transport._translate("op", 400, client_error(400, '{"category":"VALIDATION_ERROR"}'))
    assert isinstance(bad, HubSpotApiError) and not is_retriable(bad)
    assert "VALIDATION_ERROR" in str(bad)
    expired = transport._translate(
        "op", 401, client_error(401, '{"category":"EXPIRED_AUTHENTICATION"}')
    )
    assert isinstance(expired, HubSpotAuthError) and not is_retriable(expired)
    daily = transport._translate("op", 429, client_error(429, '{"policyName":"DAILY"}'))
    assert isinstance(daily, QuotaExhausted) and not is_retriable(daily)
    with pytest.raises(QuotaExhausted):
        transport.quota.check()  # and every later call is refused before it is sent
