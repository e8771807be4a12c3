"""The call policy of `SalesforceGateway`, with the login replaced by a stand-in client."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)
from simple_salesforce.util import Usage

from connectors import salesforce_calls
from connectors.base import QuotaExhausted, TruncatedResponse
from connectors.retrying import RetrySettings
from connectors.salesforce_calls import SalesforceGateway, SalesforceSessionExpired
from connectors.salesforce_settings import SalesforceSettings

FAST = RetrySettings(attempts=3, initial_wait=0.001, max_wait=0.002)
CLIENT_ENV = {
    "SALESFORCE_CLIENT_ID": "cid",
    "SALESFORCE_CLIENT_SECRET": "s3cr3t",
    "SALESFORCE_DOMAIN": "acme.my",
}
DIRECT_ENV = {
    "SALESFORCE_INSTANCE_URL": "https://x.my.salesforce.com",
    "SALESFORCE_ACCESS_TOKEN": "t",
}


class Logins:
    """Counts logins; each returns a new stand-in client."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, settings: SalesforceSettings, session: Any) -> object:
        self.count += 1
        return object()


@pytest.fixture
def logins(monkeypatch: pytest.MonkeyPatch) -> Logins:
    fake = Logins()
    monkeypatch.setattr(salesforce_calls, "login", fake)
    return fake


def _gateway(env: dict[str, str], **overrides: Any) -> SalesforceGateway:
    return SalesforceGateway(SalesforceSettings.from_env(env, retry=FAST, **overrides), source="sf")


def _failing(*errors: BaseException) -> Any:
    remaining = list(errors)
    seen: list[object] = []

    def call(sf: object) -> str:
        seen.append(sf)
        if remaining:
            raise remaining.pop(0)
        return "ok"

    call.seen = seen  # type: ignore[attr-defined]
    return call


def _sf_error(cls: type, status: int, code: str, message: str = "m") -> Exception:
    return cls("https://x/q", status, "query", [{"errorCode": code, "message": message}])


def test_retries_transient_then_succeeds(logins: Logins) -> None:
    gateway = _gateway(CLIENT_ENV)
    call = _failing(
        requests.exceptions.ConnectionError("reset"),
        _sf_error(SalesforceGeneralError, 503, "SERVER_UNAVAILABLE"),
    )
    assert gateway.call(call, what="q") == "ok"
    assert len(call.seen) == 3 and logins.count == 1


def test_gives_up_after_the_configured_attempts(logins: Logins) -> None:
    gateway = _gateway(CLIENT_ENV)
    call = _failing(*[requests.exceptions.ReadTimeout("slow")] * 5)
    with pytest.raises(requests.exceptions.ReadTimeout):
        gateway.call(call, what="q")
    assert len(call.seen) == 3


def test_client_errors_are_not_retried(logins: Logins) -> None:
    gateway = _gateway(CLIENT_ENV)
    call = _failing(_sf_error(SalesforceMalformedRequest, 400, "INVALID_FIELD"))
    with pytest.raises(SalesforceMalformedRequest):
        gateway.call(call, what="q")
    assert len(call.seen) == 1


def test_unparseable_body_is_truncated_response(logins: Logins) -> None:
    gateway = _gateway(CLIENT_ENV)
    call = _failing(requests.exceptions.JSONDecodeError("Expecting ','", '{"a": 1', 7))
    with pytest.raises(TruncatedResponse, match="could not be parsed whole"):
        gateway.call(call, what="q")
    assert len(call.seen) == 1


def test_daily_limit_is_quota_exhausted_and_sticks(logins: Logins) -> None:
    gateway = _gateway(CLIENT_ENV)
    daily = _sf_error(
        SalesforceRefusedRequest, 403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."
    )
    with pytest.raises(QuotaExhausted, match="daily API request limit"):
        gateway.call(_failing(daily), what="q")
    later = _failing()
    with pytest.raises(QuotaExhausted):
        gateway.call(later, what="q")
    assert later.seen == []


def test_concurrency_limit_is_retried(logins: Logins) -> None:
    gateway = _gateway(CLIENT_ENV)
    busy = _sf_error(
        SalesforceRefusedRequest, 403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn"
    )
    assert gateway.call(_failing(busy), what="q") == "ok"


def test_expired_session_logs_in_again_once(logins: Logins) -> None:
    gateway = _gateway(CLIENT_ENV)
    expired = _sf_error(SalesforceExpiredSession, 401, "INVALID_SESSION_ID")
    call = _failing(expired)
    assert gateway.call(call, what="bulk") == "ok"
    assert logins.count == 2 and call.seen[0] is not call.seen[1]
    with pytest.raises(SalesforceExpiredSession):
        gateway.call(_failing(expired, expired), what="bulk")


def test_expired_direct_token_says_what_to_do(logins: Logins) -> None:
    gateway = _gateway(DIRECT_ENV)
    expired = _sf_error(SalesforceExpiredSession, 401, "INVALID_SESSION_ID")
    with pytest.raises(SalesforceSessionExpired, match="SALESFORCE_ACCESS_TOKEN has expired"):
        gateway.call(_failing(expired), what="q")


def test_usage_over_share_stops_the_next_call(logins: Logins) -> None:
    gateway = _gateway(CLIENT_ENV, max_quota_share=0.5)

    def call(sf: object) -> str:
        gateway.meter.usage = Usage(used=600, total=1000)
        return "page"

    assert gateway.call(call, what="q") == "page"
    with pytest.raises(QuotaExhausted, match="600 of 1000"):
        gateway.call(call, what="q")


def test_json_decode_error_class_is_stdlib_compatible() -> None:
    # The mapping above relies on requests' JSONDecodeError being a json.JSONDecodeError.
    assert issubclass(requests.exceptions.JSONDecodeError, json.JSONDecodeError)
