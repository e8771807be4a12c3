"""Settings, login-flow choice, error classification, flag field guards and the quota guard."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from simple_salesforce.exceptions import (
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from connectors.base import FlagUpdate, QuotaExhausted
from connectors.quota import QuotaGuard
from connectors.salesforce import SalesforceConnector, connector_from_env, credentials_present
from connectors.salesforce_calls import is_daily_limit, is_retriable
from connectors.salesforce_flags import field_values
from connectors.salesforce_session import CallMeter, SalesforceHttpSession
from connectors.salesforce_settings import SalesforceSettings

CLIENT = {
    "SALESFORCE_CLIENT_ID": "cid",
    "SALESFORCE_CLIENT_SECRET": "s3cr3t-client",
    "SALESFORCE_DOMAIN": "acme.my",
}
JWT = {
    "SALESFORCE_USERNAME": "u@example.com",
    "SALESFORCE_CLIENT_ID": "cid",
    "SALESFORCE_PRIVATE_KEY_FILE": "/keys/server.key",
}
DIRECT = {
    "SALESFORCE_INSTANCE_URL": "https://acme.my.salesforce.com",
    "SALESFORCE_ACCESS_TOKEN": "00D!s3cr3t-token",
}
SOAP = {
    "SALESFORCE_USERNAME": "u@example.com",
    "SALESFORCE_PASSWORD": "s3cr3t-pw",
    "SALESFORCE_SECURITY_TOKEN": "s3cr3t-st",
}


@pytest.mark.parametrize(
    ("env", "flow"),
    [
        (CLIENT | JWT | DIRECT | SOAP, "client_credentials"),
        (JWT | DIRECT | SOAP, "jwt_bearer"),
        (DIRECT | SOAP, "direct"),
        (SOAP, "soap"),
        (CLIENT | {"SALESFORCE_DOMAIN": "login"} | DIRECT, "direct"),  # needs a My Domain
        (CLIENT | {"SALESFORCE_CLIENT_SECRET": "  "} | SOAP, "soap"),  # blank counts as unset
    ],
)
def test_flow_order_of_preference(env: dict[str, str], flow: str) -> None:
    assert SalesforceSettings.from_env(env).auth_flow == flow
    assert credentials_present(env)


def test_no_complete_flow_names_missing_variables() -> None:
    env = {"SALESFORCE_CLIENT_SECRET": "s3cr3t-client", "SALESFORCE_PASSWORD": "s3cr3t-pw"}
    with pytest.raises(ValueError) as info:
        SalesforceSettings.from_env(env)
    message = str(info.value)
    for name in (
        "SALESFORCE_CLIENT_ID",
        "SALESFORCE_DOMAIN",
        "SALESFORCE_PRIVATE_KEY_FILE",
        "SALESFORCE_INSTANCE_URL",
        "SALESFORCE_ACCESS_TOKEN",
        "SALESFORCE_SECURITY_TOKEN",
    ):
        assert name in message
    assert "s3cr3t" not in message
    assert not credentials_present(env)


def test_secrets_stay_out_of_reprs_and_errors() -> None:
    settings = SalesforceSettings.from_env(CLIENT | DIRECT | SOAP)
    text = repr(settings) + str(settings) + repr(SalesforceConnector(settings))
    assert "s3cr3t" not in text
    with pytest.raises(ValueError) as info:
        SalesforceSettings(auth_flow="direct", access_token="s3cr3t-token")
    assert "s3cr3t" not in str(info.value)
    assert "SALESFORCE_INSTANCE_URL" in str(info.value)


def test_overrides_and_bad_values() -> None:
    settings = SalesforceSettings.from_env(
        DIRECT | {"PIPELINES_ETL_CA_BUNDLE": "/tmp/ca.pem"}, timeout=2.5, bulk_threshold=None
    )
    assert settings.timeout == 2.5 and settings.bulk_threshold is None
    assert settings.ca_bundle == Path("/tmp/ca.pem")
    with pytest.raises(ValueError, match="page_size"):
        SalesforceSettings.from_env(DIRECT, page_size=50)
    with pytest.raises(ValueError, match="flag_field_stale"):
        SalesforceSettings.from_env(DIRECT, flag_field_stale="Bad Name; DELETE")
    with pytest.raises(ValueError, match="login_url"):
        SalesforceSettings.from_env(DIRECT | {"SALESFORCE_LOGIN_URL": "127.0.0.1:8443"})


def test_connector_from_env_takes_options_and_makes_no_call() -> None:
    connector = connector_from_env(source="sf_emea", env=DIRECT, options={"page_size": 500})
    assert connector.source == "sf_emea" and connector.source_type == "salesforce"
    assert connector.settings.page_size == 500
    assert connector.api_calls == 0


def _error(cls: type, status: int, code: str, message: str) -> Exception:
    return cls("https://x/q", status, "query", [{"errorCode": code, "message": message}])


def _refused(code: str, message: str) -> Exception:
    return _error(SalesforceRefusedRequest, 403, code, message)


@pytest.mark.parametrize(
    ("exc", "retriable"),
    [
        (requests.exceptions.ConnectionError("reset"), True),
        (requests.exceptions.ReadTimeout("slow"), True),
        (requests.exceptions.ChunkedEncodingError("cut"), True),
        (requests.exceptions.SSLError("EOF occurred in violation of protocol"), True),
        (requests.exceptions.SSLError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate"), False),
        (_error(SalesforceGeneralError, 500, "UNKNOWN", "boom"), True),
        (_error(SalesforceGeneralError, 503, "SERVER_UNAVAILABLE", "later"), True),
        (_refused("REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded."), True),
        (_refused("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."), False),
        (_error(SalesforceRefusedRequest, 403, "INSUFFICIENT_ACCESS", "no"), False),
        (_error(SalesforceMalformedRequest, 400, "INVALID_FIELD", "No such column"), False),
        (_error(SalesforceResourceNotFound, 404, "NOT_FOUND", "gone"), False),
        (requests.exceptions.JSONDecodeError("Expecting value", "{", 1), False),
        (ValueError("x"), False),
    ],
)
def test_is_retriable(exc: Exception, retriable: bool) -> None:
    assert is_retriable(exc) is retriable


def test_is_daily_limit() -> None:
    daily = _error(
        SalesforceRefusedRequest, 403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."
    )
    assert is_daily_limit(daily)
    assert not is_daily_limit(
        _error(SalesforceRefusedRequest, 403, "REQUEST_LIMIT_EXCEEDED", "Concurrent")
    )


def test_field_values_writes_flag_fields_only() -> None:
    settings = SalesforceSettings.from_env(DIRECT)
    update = FlagUpdate(
        "006A", {"flagged": True, "reason": "stuck", "Pipeline_Stale_Since__c": None}
    )
    assert field_values(update, settings) == {
        "Pipeline_Stale__c": True,
        "Pipeline_Stale_Reason__c": "stuck",
        "Pipeline_Stale_Since__c": None,
    }
    with pytest.raises(ValueError, match="only the flag fields"):
        field_values(FlagUpdate("006A", {"StageName": "Closed Won"}), settings)


def test_session_fills_timeout_and_redirects_login() -> None:
    settings = SalesforceSettings.from_env(
        CLIENT | {"SALESFORCE_LOGIN_URL": "https://127.0.0.1:9443"}, timeout=3
    )
    session = SalesforceHttpSession(settings=settings, meter=CallMeter())
    assert session._redirect_login("https://acme.my.salesforce.com/services/oauth2/token") == (
        "https://127.0.0.1:9443/services/oauth2/token"
    )
    other = "https://na1.salesforce.com/services/data/v59.0/query/"
    assert session._redirect_login(other) == other


def test_session_trusts_only_the_ca_bundle() -> None:
    settings = SalesforceSettings.from_env(DIRECT | {"PIPELINES_ETL_CA_BUNDLE": "/tmp/ca.pem"})
    session = SalesforceHttpSession(settings=settings, meter=CallMeter())
    assert session.verify == "/tmp/ca.pem" and session.trust_env is False


class TestQuotaGuard:
    def test_below_share_passes(self) -> None:
        guard = QuotaGuard(max_share=0.8, source="sf")
        guard.observe(used=799, total=1000)
        guard.check()

    def test_at_share_raises_and_stays_exhausted(self) -> None:
        guard = QuotaGuard(max_share=0.8, source="sf")
        with pytest.raises(QuotaExhausted, match=r"sf: .*800 of 1000.*80%"):
            guard.observe(used=800, total=1000)
        with pytest.raises(QuotaExhausted):
            guard.check()

    def test_unknown_total_never_raises(self) -> None:
        guard = QuotaGuard(max_share=0.5, source="sf")
        guard.observe(used=10, total=0)
        guard.check()

    @pytest.mark.parametrize("share", [0, -0.1, 1.5])
    def test_bad_share(self, share: float) -> None:
        with pytest.raises(ValueError, match="max_share"):
            QuotaGuard(max_share=share, source="sf")

    def test_exhaust(self) -> None:
        guard = QuotaGuard(max_share=0.9, source="hubspot")
        with pytest.raises(QuotaExhausted, match="daily"):
            guard.exhaust("hubspot: daily limit spent")
