"""Every Salesforce call goes through here: retries, re-login, quota and truncation checks.

`SalesforceGateway.call(fn)` runs `fn(client)` under the shared tenacity policy. It retries
transport failures, 5xx and the concurrency 403; turns the daily-limit 403 into
`QuotaExhausted` and an unparseable 200 into `TruncatedResponse` (neither retried); logs in
again once when a session dies where the flow allows it (simple-salesforce does so itself
for REST, not for Bulk API 2.0), and says plainly when a direct token has expired.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import TypeVar
from xml.parsers.expat import ExpatError

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceRefusedRequest,
)

from connectors.base import QuotaExhausted, TruncatedResponse
from connectors.quota import QuotaGuard
from connectors.retrying import retrying
from connectors.salesforce_session import CallMeter, SalesforceHttpSession, login
from connectors.salesforce_settings import FLOW_LABELS, FLOW_VARIABLES, SalesforceSettings

logger = logging.getLogger(__name__)
T = TypeVar("T")

_DAILY_LIMIT_MARK = "totalrequests"
_CERTIFICATE_MARKS = ("certificate verify failed", "certificate_verify_failed")


class SalesforceSessionExpired(RuntimeError):
    """The session died and the configured flow cannot log in again."""


class SalesforceLoginFailed(RuntimeError):
    """Salesforce refused the login (bad credentials, app not allowed, wrong domain)."""


def error_items(exc: SalesforceError) -> list[tuple[str, str]]:
    """(errorCode, message) pairs of a Salesforce error body (always a JSON array)."""
    content = exc.content
    if isinstance(content, list):
        return [
            (str(item.get("errorCode", "")), str(item.get("message", "")))
            for item in content
            if isinstance(item, dict)
        ]
    return [("", str(content))]


def is_daily_limit(exc: BaseException) -> bool:
    """403 REQUEST_LIMIT_EXCEEDED for the org's daily TotalRequests: stop, do not retry."""
    return isinstance(exc, SalesforceRefusedRequest) and any(
        code == "REQUEST_LIMIT_EXCEEDED" and _DAILY_LIMIT_MARK in message.lower()
        for code, message in error_items(exc)
    )


def is_retriable(exc: BaseException) -> bool:
    """Transport failures, 5xx and the concurrency 403 are retried; nothing else."""
    if isinstance(exc, requests.exceptions.SSLError):
        # A connection cut mid-TLS reads as an SSLError; a certificate problem never heals.
        text = str(exc).lower()
        return not any(mark in text for mark in _CERTIFICATE_MARKS)
    if isinstance(
        exc,
        requests.exceptions.ConnectionError
        | requests.exceptions.Timeout
        | requests.exceptions.ChunkedEncodingError,
    ):
        return True
    if isinstance(exc, SalesforceRefusedRequest):
        return not is_daily_limit(exc) and any(
            code == "REQUEST_LIMIT_EXCEEDED" for code, _ in error_items(exc)
        )
    if isinstance(exc, SalesforceGeneralError):
        return exc.status >= 500
    return False


class SalesforceGateway:
    """Owns the client (logging in lazily) and runs every call under the house policy."""

    def __init__(self, settings: SalesforceSettings, *, source: str) -> None:
        self.settings = settings
        self.source = source
        self.meter = CallMeter()
        self.guard = QuotaGuard(max_share=settings.max_quota_share, source=source)
        self._session = SalesforceHttpSession(settings=settings, meter=self.meter)
        self._client: Salesforce | None = None

    def call(self, fn: Callable[[Salesforce], T], *, what: str) -> T:
        """Run `fn(client)` with retries; `what` names the call in errors."""
        relogged = False
        while True:
            try:
                for attempt in retrying(settings=self.settings.retry, is_retriable=is_retriable):
                    with attempt:
                        return self._attempt(fn, what=what)
            except SalesforceExpiredSession:
                if not self.settings.can_relogin:
                    raise SalesforceSessionExpired(_expired_token_message(self.source)) from None
                if relogged:
                    raise
                logger.info("%s: session expired during %s; logging in again", self.source, what)
                relogged = True
                self._client = None
        raise AssertionError("unreachable")  # pragma: no cover

    def client(self) -> Salesforce:
        """The logged-in client (logs in on first use; retried like any call)."""
        return self.call(lambda sf: sf, what="login")

    def _attempt(self, fn: Callable[[Salesforce], T], *, what: str) -> T:
        self.guard.check()
        try:
            if self._client is None:
                self._client = self._login()
            return fn(self._client)
        except (json.JSONDecodeError, requests.exceptions.JSONDecodeError, ExpatError) as exc:
            raise TruncatedResponse(
                f"{self.source}: Salesforce answered {what} with a body that could not be "
                "parsed whole (truncated response); failing the run so the cursor stays put"
            ) from exc
        except SalesforceRefusedRequest as exc:
            if is_daily_limit(exc):
                self.guard.exhaust(
                    f"{self.source}: Salesforce's daily API request limit is spent "
                    f"(403 REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded) during {what}. "
                    "Stopping; run again after the org's 24-hour quota frees up."
                )
            raise
        finally:
            self._observe_usage()

    def _login(self) -> Salesforce:
        flow = self.settings.auth_flow
        assert flow is not None
        try:
            return login(self.settings, self._session)
        except (SalesforceAuthenticationFailed, AttributeError) as exc:
            status = self.meter.last_status or 0
            if status >= 500:  # the login endpoint failed, not the credentials: retriable
                raise SalesforceGeneralError(self.meter.last_url, status, "login", "") from None
            if status == 200 and isinstance(exc.__cause__, json.JSONDecodeError | ExpatError):
                raise TruncatedResponse(
                    f"{self.source}: the Salesforce login reply was cut short"
                ) from None
            if isinstance(exc, AttributeError):
                raise
            raise SalesforceLoginFailed(
                f"{self.source}: Salesforce {FLOW_LABELS[flow]} login failed ({exc}); check "
                f"{', '.join(FLOW_VARIABLES[flow])}"
                + (" and SALESFORCE_LOGIN_URL" if self.settings.login_url else "")
            ) from None

    def _observe_usage(self) -> None:
        usage = self.meter.usage
        if usage is None:
            return
        try:
            self.guard.observe(used=usage.used, total=usage.total)
        except QuotaExhausted:
            # This call's result is still delivered; the next call stops at `guard.check()`.
            logger.warning("%s: API quota share reached at %s/%s", self.source, *usage)


def _expired_token_message(source: str) -> str:
    return (
        f"{source}: SALESFORCE_ACCESS_TOKEN has expired or was revoked (INVALID_SESSION_ID), "
        "and a direct access token cannot be refreshed. Set a fresh token, or configure a flow "
        "that can log in again: SALESFORCE_CLIENT_ID, SALESFORCE_CLIENT_SECRET and "
        "SALESFORCE_DOMAIN (client credentials), or SALESFORCE_USERNAME, SALESFORCE_CLIENT_ID "
        "and SALESFORCE_PRIVATE_KEY_FILE (JWT bearer)."
    )
