"""Salesforce sandbox logins, tokens, limits and fault shapes, through the real simple-salesforce
client over HTTPS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceRefusedRequest,
)

from connectors.sandbox.api import Request
from connectors.sandbox.server import SandboxServer

COUNT = "SELECT COUNT() FROM Opportunity"


class LoginSession(requests.Session):
    """Sends every https URL (login.salesforce.com, sandbox.my.salesforce.com, the instance)
    to the sandbox, trusting its CA."""

    def __init__(self, server: SandboxServer) -> None:
        super().__init__()
        self.verify = server.ca_bundle
        self.trust_env = False
        self.target = urlsplit(server.url).netloc
        self.hosts: list[str] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(str(url))
        self.hosts.append(parts.netloc)
        url = urlunsplit(("https", self.target, parts.path, parts.query, parts.fragment))
        return super().request(method, url, *args, **kwargs)


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    """A small generated org (40 deals)."""
    srv = SandboxServer(deals=40, seed=5, apis=("salesforce",)).start()
    yield srv
    srv.stop()


@pytest.fixture
def env(server: SandboxServer) -> dict[str, str]:
    server.set_faults(None)
    return server.env()


def direct(server: SandboxServer, token: str | None = None) -> Salesforce:
    """A client in direct mode (no re-login)."""
    env = server.env()
    return Salesforce(
        instance_url=env["SALESFORCE_INSTANCE_URL"],
        session_id=token or env["SALESFORCE_ACCESS_TOKEN"],
        session=LoginSession(server),
    )


def client_credentials(server: SandboxServer, **overrides: str) -> Salesforce:
    env = server.env()
    kwargs = {
        "consumer_key": env["SALESFORCE_CLIENT_ID"],
        "consumer_secret": env["SALESFORCE_CLIENT_SECRET"],
        "domain": env["SALESFORCE_DOMAIN"],
        **overrides,
    }
    return Salesforce(session=LoginSession(server), **kwargs)


def test_env_names_every_credential(server: SandboxServer, env: dict[str, str]) -> None:
    assert env["SALESFORCE_INSTANCE_URL"] == server.url
    assert env["SALESFORCE_LOGIN_URL"] == server.url
    assert env["SALESFORCE_DOMAIN"] == "sandbox.my"
    assert env["SALESFORCE_ACCESS_TOKEN"].startswith("00D")
    assert "!" in env["SALESFORCE_ACCESS_TOKEN"]
    for name in ("CLIENT_ID", "CLIENT_SECRET", "USERNAME", "PASSWORD", "SECURITY_TOKEN"):
        assert env[f"SALESFORCE_{name}"]


def test_direct_token_queries(server: SandboxServer, env: dict[str, str]) -> None:
    result = direct(server).query(COUNT)
    assert result == {"totalSize": result["totalSize"], "done": True, "records": []}
    assert 30 <= result["totalSize"] <= 40  # 40 deals, a few deleted


def test_client_credentials_login(server: SandboxServer, env: dict[str, str]) -> None:
    sf = client_credentials(server)
    assert sf.session.hosts[0] == "sandbox.my.salesforce.com"  # type: ignore[attr-defined]
    assert sf.sf_instance == urlsplit(server.url).netloc
    assert sf.session_id != env["SALESFORCE_ACCESS_TOKEN"]
    assert sf.session_id.startswith("00D")
    assert sf.query(COUNT)["done"] is True


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"consumer_secret": "wrong"}, "invalid_client"),
        ({"consumer_key": "3MVGnobody"}, "invalid_client_id"),
    ],
)
def test_client_credentials_refused(
    server: SandboxServer, env: dict[str, str], overrides: dict[str, str], code: str
) -> None:
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        client_credentials(server, **overrides)
    assert caught.value.code == code


def test_password_login_and_refusal(server: SandboxServer, env: dict[str, str]) -> None:
    good = {
        "username": env["SALESFORCE_USERNAME"],
        "password": env["SALESFORCE_PASSWORD"],
        "consumer_key": env["SALESFORCE_CLIENT_ID"],
        "consumer_secret": env["SALESFORCE_CLIENT_SECRET"],
    }
    sf = Salesforce(session=LoginSession(server), **good)
    assert sf.query(COUNT)["done"] is True
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        Salesforce(session=LoginSession(server), **{**good, "password": "nope"})
    assert caught.value.code == "invalid_grant"
    assert caught.value.auth_message == "authentication failure"


def _pem_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@pytest.mark.filterwarnings(r"ignore:\s*If your connected app:UserWarning")
def test_jwt_bearer_login_checks_claims_and_signature(
    server: SandboxServer, env: dict[str, str]
) -> None:
    private, public = _pem_pair()
    other_private, _ = _pem_pair()
    api = server.apis["salesforce"]
    api.auth.jwt_public_key = public  # type: ignore[attr-defined]
    try:
        sf = Salesforce(
            username=env["SALESFORCE_USERNAME"],
            consumer_key=env["SALESFORCE_CLIENT_ID"],
            privatekey=private,
            session=LoginSession(server),
        )
        assert sf.query(COUNT)["done"] is True
        cases = [
            ({"privatekey": other_private}, "invalid_grant", "invalid assertion"),
            ({"username": "someone@else"}, "invalid_grant", "user hasn't approved this consumer"),
            ({"consumer_key": "3MVGother"}, "invalid_client_id", "client identifier invalid"),
        ]
        for override, code, message in cases:
            kwargs = {
                "username": env["SALESFORCE_USERNAME"],
                "consumer_key": env["SALESFORCE_CLIENT_ID"],
                "privatekey": private,
                **override,
            }
            with pytest.raises(SalesforceAuthenticationFailed) as caught:
                Salesforce(session=LoginSession(server), **kwargs)
            assert (caught.value.code, caught.value.auth_message) == (code, message)
    finally:
        api.auth.jwt_public_key = None  # type: ignore[attr-defined]


def test_soap_login_and_its_fault(server: SandboxServer, env: dict[str, str]) -> None:
    sf = Salesforce(
        username=env["SALESFORCE_USERNAME"],
        password=env["SALESFORCE_PASSWORD"],
        security_token=env["SALESFORCE_SECURITY_TOKEN"],
        session=LoginSession(server),
    )
    assert sf.sf_instance == urlsplit(server.url).netloc
    assert sf.query(COUNT)["done"] is True
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        Salesforce(
            username=env["SALESFORCE_USERNAME"],
            password=env["SALESFORCE_PASSWORD"],
            security_token="wrong",
            session=LoginSession(server),
        )
    assert caught.value.code == "INVALID_LOGIN"
    assert caught.value.auth_message == (
        "Invalid username, password, security token; or user locked out."
    )


def test_unknown_token_is_the_real_401(server: SandboxServer, env: dict[str, str]) -> None:
    with pytest.raises(SalesforceExpiredSession) as caught:
        direct(server, token="00D000000000000!AQbogus").query(COUNT)
    assert caught.value.status == 401
    assert caught.value.content == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]


def test_expire_fault_relogin_gets_a_fresh_token(
    server: SandboxServer, env: dict[str, str]
) -> None:
    sf = client_credentials(server)
    first = sf.session_id
    server.set_faults(f"expire@{server.faults.requests + 1}")
    assert sf.query(COUNT)["done"] is True  # 401, re-login, retry
    assert sf.session_id != first
    server.set_faults(None)
    with pytest.raises(SalesforceExpiredSession):
        direct(server, token=first).query(COUNT)  # the expired token stays dead
    assert direct(server, token=sf.session_id).query(COUNT)["done"] is True


def test_expired_direct_token_stays_dead() -> None:
    srv = SandboxServer(deals=5, seed=1, apis=("salesforce",)).start()
    try:
        sf = direct(srv)
        srv.set_faults(f"expire@{srv.faults.requests + 1}")
        with pytest.raises(SalesforceExpiredSession):
            sf.query(COUNT)
        srv.set_faults(None)
        with pytest.raises(SalesforceExpiredSession):
            sf.query(COUNT)
        assert srv.fault_counts == {"expire": 1}
    finally:
        srv.stop()


@pytest.mark.parametrize(
    ("fault", "exception", "status", "code", "message"),
    [
        (
            "429",
            SalesforceRefusedRequest,
            403,
            "REQUEST_LIMIT_EXCEEDED",
            "ConcurrentPerOrgLongTxn Limit exceeded.",
        ),
        (
            "quota",
            SalesforceRefusedRequest,
            403,
            "REQUEST_LIMIT_EXCEEDED",
            "TotalRequests Limit exceeded.",
        ),
        ("500", SalesforceGeneralError, 500, "UNKNOWN_EXCEPTION", None),
        ("502", SalesforceGeneralError, 502, "BAD_GATEWAY", None),
        ("503", SalesforceGeneralError, 503, "SERVER_UNAVAILABLE", None),
    ],
)
def test_status_faults_have_salesforce_shapes(
    server: SandboxServer,
    env: dict[str, str],
    fault: str,
    exception: type[Exception],
    status: int,
    code: str,
    message: str | None,
) -> None:
    sf = direct(server)
    server.set_faults(f"{fault}@{server.faults.requests + 1}")
    with pytest.raises(exception) as caught:
        sf.query(COUNT)
    server.set_faults(None)
    error: Any = caught.value
    assert error.status == status
    assert isinstance(error.content, list)
    assert error.content[0]["errorCode"] == code
    if message is not None:
        assert error.content[0]["message"] == message


def test_fault_on_token_endpoint_is_oauth_shaped(server: SandboxServer) -> None:
    api = server.apis["salesforce"]
    request = Request("POST", "/services/oauth2/token", {}, {}, b"grant_type=client_credentials")
    response = api.fault_response("503", request)
    assert response.status == 503
    assert set(json.loads(response.body)) == {"error", "error_description"}


def test_limits_and_usage_header_count_calls(server: SandboxServer, env: dict[str, str]) -> None:
    sf = direct(server)
    first = sf.limits()["DailyApiRequests"]
    used_after_first = sf.api_usage["api-usage"].used
    second = sf.limits()["DailyApiRequests"]
    assert first["Max"] == 15000
    assert second["Remaining"] == first["Remaining"] - 1
    assert sf.api_usage["api-usage"].used == used_after_first + 1
    assert sf.api_usage["api-usage"].total == 15000
