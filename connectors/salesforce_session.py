"""The HTTP transport the Salesforce client uses, and the login that builds the client.

simple-salesforce takes a `requests.Session` (`session=`) and sends every request through it:
logins, REST, sObject calls and Bulk API 2.0. The session subclass here is the one place that
sees them all, so it gives each a timeout, points logins at `login_url`, trusts only the
configured CA bundle, counts the requests and keeps the last `Sforce-Limit-Info` reading.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from simple_salesforce import Salesforce
from simple_salesforce.util import Usage

from connectors.salesforce_settings import SalesforceSettings


@dataclass
class CallMeter:
    """Requests sent so far (attempts, logins and pages included) and the last usage report."""

    calls: int = 0
    usage: Usage | None = None
    last_status: int | None = None
    last_url: str = ""


class SalesforceHttpSession(requests.Session):
    """A `requests.Session` with a default timeout, a login redirect and a request counter."""

    def __init__(self, *, settings: SalesforceSettings, meter: CallMeter) -> None:
        super().__init__()
        self._timeout = settings.timeout
        self._meter = meter
        domain = settings.domain or "login"
        self._login_host = f"{domain}.salesforce.com".lower()
        self._login_target = urlsplit(settings.login_url) if settings.login_url else None
        if settings.ca_bundle is not None:
            # REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE in the environment override `verify` unless
            # the session ignores the environment.
            self.verify = str(settings.ca_bundle)
            self.trust_env = False

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """Send one request with the default timeout, counting it and reading API usage."""
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        url = self._redirect_login(url if isinstance(url, str) else url.decode())
        self._meter.calls += 1
        self._meter.last_status, self._meter.last_url = None, url
        response = super().request(method, url, *args, **kwargs)
        self._meter.last_status = response.status_code
        limit_info = response.headers.get("Sforce-Limit-Info")
        if limit_info:
            usage = Salesforce.parse_api_usage(limit_info).get("api-usage")
            if isinstance(usage, Usage):
                self._meter.usage = usage
        return response

    def _redirect_login(self, url: str) -> str:
        target = self._login_target
        if target is None:
            return url
        parts = urlsplit(url)
        if (parts.hostname or "").lower() != self._login_host:
            return url
        base_path = target.path.rstrip("/")
        return urlunsplit(
            (target.scheme, target.netloc, base_path + parts.path, parts.query, parts.fragment)
        )


def login(settings: SalesforceSettings, session: requests.Session) -> Salesforce:
    """A logged-in simple-salesforce client for the settings' flow (a login request, if any).

    JSON numbers are parsed as `Decimal` so amounts and probabilities stay exact.
    """
    common: dict[str, Any] = {
        "session": session,
        "version": settings.api_version,
        "parse_float": Decimal,
        "object_pairs_hook": dict,
    }
    flow = settings.auth_flow
    if flow == "client_credentials":
        return Salesforce(
            consumer_key=settings.client_id,
            consumer_secret=_secret(settings.client_secret),
            domain=settings.domain,
            **common,
        )
    if flow == "jwt_bearer":
        # instance_url is not passed: simple-salesforce 1.12 would build the token URL from it
        # as https://{instance_url}.salesforce.com.
        return Salesforce(
            username=settings.username,
            consumer_key=settings.client_id,
            privatekey_file=str(settings.private_key_file),
            domain=settings.domain or "login",
            **common,
        )
    if flow == "direct":
        return Salesforce(
            instance_url=settings.instance_url,
            session_id=_secret(settings.access_token),
            **common,
        )
    return Salesforce(
        username=settings.username,
        password=_secret(settings.password),
        security_token=_secret(settings.security_token),
        domain=settings.domain or "login",
        **common,
    )


def _secret(value: Any) -> str | None:
    return None if value is None else value.get_secret_value()
