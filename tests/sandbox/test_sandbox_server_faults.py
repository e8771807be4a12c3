"""Fault injection: SPEC parsing, reproducible draws, what the hubspot client sees per kind."""

from __future__ import annotations

import json
import threading
import time

import pytest
import urllib3
from hubspot.crm.deals.exceptions import ApiException, ServiceException, UnauthorizedException

from connectors.sandbox.faults import FaultPlan, FaultRule, parse_spec
from connectors.sandbox.server import SandboxServer

SEARCH = {"filterGroups": [], "limit": 2}


@pytest.fixture
def faulty(make_sandbox, world) -> SandboxServer:
    """A fixture-world server whose faults each test sets; `timeout` holds 3 s."""
    return make_sandbox(fixture={"hubspot": world}, hold_seconds=3.0)


def test_parse_spec_reads_rates_and_request_numbers() -> None:
    assert parse_spec("429=0.5, timeout@3,lag=1") == (
        FaultRule("429", rate=0.5),
        FaultRule("timeout", nth=3),
        FaultRule("lag", rate=1.0),
    )
    assert parse_spec("") == ()
    assert parse_spec(None) == ()


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ("429=2", "429=2"),
        ("boom=0.1", "boom"),
        ("500@0", "500@0"),
        ("reset", "reset"),
        ("503=x", "503=x"),
        ("quota@-1", "quota@-1"),
    ],
)
def test_bad_spec_names_the_bad_part(spec: str, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        parse_spec(f"lag=0.1,{spec}")


def test_draws_are_reproducible_from_the_seed() -> None:
    def sequence(seed: int) -> list[str | None]:
        plan = FaultPlan("500=0.3,reset=0.2", seed=seed)
        return [plan.draw().status or plan.draw().transport for _ in range(50)]

    assert sequence(5) == sequence(5)
    assert sequence(5) != sequence(6)


def test_nth_request_fault_hits_exactly_that_request() -> None:
    plan = FaultPlan("503@3", seed=0)
    statuses = [plan.draw().status for _ in range(5)]
    assert statuses == [None, None, "503", None, None]
    assert plan.counts() == {"503": 1}


def test_429_has_the_real_body_and_retry_after(faulty, hubspot_client) -> None:
    faulty.set_faults("429@1")
    with pytest.raises(ApiException) as caught:  # POST is never retried by the client
        hubspot_client(faulty).crm.deals.search_api.do_search(SEARCH)
    body = json.loads(caught.value.body)
    assert caught.value.status == 429
    assert (body["errorType"], body["policyName"]) == ("RATE_LIMIT", "TEN_SECONDLY_ROLLING")
    assert caught.value.headers["Retry-After"] == "1"
    assert faulty.fault_counts == {"429": 1}


def test_429_on_a_get_is_retried_by_the_client_after_retry_after(faulty, hubspot_client) -> None:
    faulty.set_faults("429@1")
    started = time.monotonic()
    page = hubspot_client(faulty).crm.deals.basic_api.get_page(limit=1)
    assert len(page.results) == 1
    assert time.monotonic() - started >= 0.9
    assert faulty.fault_counts == {"429": 1}


def test_quota_is_a_daily_429_without_retry_after(faulty, hubspot_client) -> None:
    faulty.set_faults("quota@1")
    with pytest.raises(ApiException) as caught:
        hubspot_client(faulty).crm.deals.basic_api.get_page(limit=1)
    assert caught.value.status == 429
    assert json.loads(caught.value.body)["policyName"] == "DAILY"
    assert "Retry-After" not in caught.value.headers
    assert faulty.fault_counts == {"quota": 1}


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_raise_service_exception(faulty, hubspot_client, status: int) -> None:
    faulty.set_faults(f"{status}@1")
    with pytest.raises(ServiceException) as caught:
        hubspot_client(faulty).crm.deals.basic_api.get_page(limit=1)
    assert caught.value.status == status
    assert json.loads(caught.value.body)["status"] == "error"
    assert faulty.fault_counts == {str(status): 1}


def test_expire_is_401_expired_authentication(faulty, hubspot_client) -> None:
    faulty.set_faults("expire@1")
    with pytest.raises(UnauthorizedException) as caught:
        hubspot_client(faulty).crm.deals.basic_api.get_page(limit=1)
    assert json.loads(caught.value.body)["category"] == "EXPIRED_AUTHENTICATION"
    assert faulty.fault_counts == {"expire": 1}


def test_timeout_holds_until_the_client_gives_up(faulty, hubspot_client) -> None:
    faulty.set_faults("timeout@1")
    started = time.monotonic()
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        hubspot_client(faulty).crm.deals.search_api.do_search(SEARCH, _request_timeout=0.5)
    assert time.monotonic() - started < 2.5
    assert faulty.fault_counts == {"timeout": 1}
    assert hubspot_client(faulty).crm.deals.search_api.do_search(SEARCH).total == 4


def test_reset_breaks_the_connection_mid_response(faulty, hubspot_client) -> None:
    faulty.set_faults("reset@1")
    with pytest.raises(urllib3.exceptions.ProtocolError):
        hubspot_client(faulty).crm.deals.search_api.do_search(SEARCH)
    assert faulty.fault_counts == {"reset": 1}


def test_truncate_is_a_200_with_a_cut_body(faulty, hubspot_client) -> None:
    faulty.set_faults("truncate@1,truncate@2")
    client = hubspot_client(faulty)
    raw = client.crm.deals.basic_api.get_page(limit=5, _preload_content=False)
    assert raw.status == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw.data)
    page = client.crm.deals.basic_api.get_page(limit=5)  # the client hides it (crm-apis.md C2)
    assert page.results is None
    assert faulty.fault_counts == {"truncate": 2}


def test_lag_hides_recent_changes_from_search_only(faulty, hubspot_client) -> None:
    client = hubspot_client(faulty)
    client.crm.deals.batch_api.update({"inputs": [{"id": "9003", "properties": {"amount": "301"}}]})
    faulty.set_faults("lag=1")
    found = client.crm.deals.search_api.do_search(SEARCH | {"limit": 10})
    assert sorted(d.id for d in found.results) == ["9001", "9002", "9005"]
    assert client.crm.deals.basic_api.get_by_id("9003").properties["amount"] == "301"
    assert faulty.fault_counts["lag"] == 2


def test_stop_does_not_wait_for_held_requests(hubspot_client, world) -> None:
    server = SandboxServer(fixture={"hubspot": world}, faults="timeout=1", apis=["hubspot"]).start()

    outcome: list[BaseException] = []

    def call() -> None:
        try:
            hubspot_client(server).crm.deals.search_api.do_search(SEARCH, _request_timeout=20)
        except Exception as error:
            outcome.append(error)

    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    time.sleep(0.5)
    started = time.monotonic()
    server.stop()
    worker.join(timeout=10)
    assert isinstance(outcome[0], urllib3.exceptions.ProtocolError)
    assert time.monotonic() - started < 5
    assert not worker.is_alive()
