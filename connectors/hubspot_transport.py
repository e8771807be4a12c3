"""Every HubSpot call goes through here: raw JSON, retries, quota readings, clear errors.

hubspot-api-client is used with `_preload_content=False`, so each reply is read as raw bytes
and parsed strictly: a 200 whose body is not whole JSON (the client would otherwise build an
empty model and a paging loop would end early) raises `TruncatedResponse`. The client's own
urllib3 retries are switched off (they cover GETs only); `connectors.retrying` retries every
call on 429 (not DAILY), 5xx, timeouts and resets, honouring Retry-After.
"""

from __future__ import annotations

import http.client
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import urllib3
from hubspot import HubSpot

from connectors.base import TruncatedResponse
from connectors.hubspot_settings import TOKEN_VARIABLE, HubSpotSettings
from connectors.quota import QuotaGuard
from connectors.retrying import parse_retry_after, retrying

logger = logging.getLogger(__name__)

DAILY_LIMIT_HEADER = "X-HubSpot-RateLimit-Daily"
DAILY_REMAINING_HEADER = "X-HubSpot-RateLimit-Daily-Remaining"
_MAX_MESSAGE_CHARS = 300


class HubSpotAuthError(RuntimeError):
    """HubSpot refused the token (401): a private app token cannot be refreshed, so stop."""


class HubSpotApiError(RuntimeError):
    """A non-2xx reply from HubSpot, with its status, category and message (never the token)."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        category: str | None = None,
        body: Mapping[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.category = category
        self.body: Mapping[str, Any] = body or {}
        self.retry_after = retry_after

    @property
    def retriable(self) -> bool:
        """429 (a short-window limit, not DAILY) and 5xx may succeed on a later attempt."""
        return self.status == 429 or self.status >= 500


@dataclass(frozen=True)
class Reply:
    """A 2xx reply: status, parsed JSON object body and headers."""

    status: int
    body: dict[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)


def _is_transient_transport_error(exc: BaseException) -> bool:
    if isinstance(exc, urllib3.exceptions.MaxRetryError):
        return exc.reason is None or _is_transient_transport_error(exc.reason)
    return isinstance(
        exc,
        urllib3.exceptions.TimeoutError
        | urllib3.exceptions.ProtocolError
        | urllib3.exceptions.IncompleteRead
        | urllib3.exceptions.NewConnectionError
        | http.client.HTTPException
        | ConnectionError
        | TimeoutError,
    )


def is_retriable(exc: BaseException) -> bool:
    """Whether a failed HubSpot call is worth another attempt."""
    if isinstance(exc, HubSpotApiError):
        return exc.retriable
    return _is_transient_transport_error(exc)


def retry_after_of(exc: BaseException) -> float | None:
    """The Retry-After hint of a 429/503, when HubSpot sent one."""
    return exc.retry_after if isinstance(exc, HubSpotApiError) else None


def _client_error_status(exc: BaseException) -> int | None:
    """Status of one of the client's per-package ApiException classes (they share no base)."""
    status = getattr(exc, "status", None)
    if type(exc).__module__.startswith("hubspot.") and isinstance(status, int) and status > 0:
        return status
    return None


def _parse_error_body(raw: Any) -> dict[str, Any]:
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    if not isinstance(raw, str) or not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {"message": raw[:_MAX_MESSAGE_CHARS]}
    return parsed if isinstance(parsed, dict) else {}


def _header(headers: Any, name: str) -> str | None:
    if headers is None:
        return None
    try:
        value = headers.get(name)
    except AttributeError:
        return None
    return str(value) if value is not None else None


class HubSpotTransport:
    """One portal's client, call counter and quota guard; `call` runs one API method."""

    def __init__(self, settings: HubSpotSettings, *, source: str) -> None:
        self.settings = settings
        self.source = source
        self.api_calls = 0
        self.quota = QuotaGuard(max_share=settings.max_quota_share, source=source)
        self._client: HubSpot | None = None
        self._apis: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"HubSpotTransport(source={self.source!r}, base_url={self.settings.base_url!r})"

    def api(self, path: str) -> Any:
        """A generated API object by dotted path (e.g. `crm.deals.basic_api`), built once."""
        if path not in self._apis:
            if self._client is None:
                self._client = HubSpot(
                    access_token=self.settings.access_token.get_secret_value(),
                    host=self.settings.base_url,
                    ssl_ca_cert=self.settings.ca_bundle,
                    # urllib3 would retry GETs only, and some 429s; tenacity retries all calls.
                    retry=urllib3.Retry(total=0, redirect=0, raise_on_status=False),
                )
            target: Any = self._client
            for part in path.split("."):
                target = getattr(target, part)
            self._apis[path] = target
        return self._apis[path]

    def call(
        self,
        op: str,
        method: Callable[..., Any],
        *,
        expect_results: bool = True,
        **kwargs: Any,
    ) -> Reply:
        """Call one client method with retries and return its parsed JSON body.

        Raises `TruncatedResponse` for a 2xx body that is not a whole JSON object (or whose
        `results` is not a list when `expect_results`), `QuotaExhausted` for a DAILY 429 or
        when the configured share of the daily quota is used, `HubSpotAuthError` on 401,
        and `HubSpotApiError` for other failures once retries are spent.
        """
        self.quota.check()
        reply: Reply | None = None
        for attempt in retrying(
            settings=self.settings.retry, is_retriable=is_retriable, retry_after=retry_after_of
        ):
            with attempt:
                reply = self._attempt(op, method, kwargs)
        assert reply is not None  # retrying re-raises the last error when attempts run out
        self._observe_quota(reply.headers)
        if expect_results and not isinstance(reply.body.get("results"), list):
            raise TruncatedResponse(
                f"{self.source}: HubSpot {op} answered HTTP {reply.status} without a `results` "
                "list; the page is incomplete, so the sync stops instead of ending early"
            )
        return reply

    def _attempt(self, op: str, method: Callable[..., Any], kwargs: Mapping[str, Any]) -> Reply:
        self.api_calls += 1
        try:
            response = method(
                **kwargs, _preload_content=False, _request_timeout=self.settings.timeout
            )
        except Exception as exc:
            status = _client_error_status(exc)
            if status is None:
                raise
            raise self._translate(op, status, exc) from None
        try:
            raw = response.data
            status = int(response.status)
            headers = dict(response.headers.items())
        finally:
            response.release_conn()
        if status == 204 and not raw:
            return Reply(status, {}, headers)
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            raise TruncatedResponse(
                f"{self.source}: HubSpot {op} answered HTTP {status} with a body that is not "
                f"whole JSON ({len(raw or b'')} bytes); the sync stops instead of ending early"
            )
        return Reply(status, body, headers)

    def _translate(self, op: str, status: int, exc: BaseException) -> Exception:
        body = _parse_error_body(getattr(exc, "body", None))
        headers = getattr(exc, "headers", None)
        category = body.get("category") or body.get("errorType")
        message = str(body.get("message") or getattr(exc, "reason", "") or "")[:_MAX_MESSAGE_CHARS]
        if status == 429 and str(body.get("policyName", "")).upper() == "DAILY":
            try:
                self.quota.exhaust(
                    f"{self.source}: HubSpot's daily API limit is spent (429, policy DAILY) "
                    f"on {op}; the sync stops with its cursor unchanged: run it again after "
                    "the portal's daily limit resets (midnight in the portal's time zone)"
                )
            except Exception as quota_exc:  # exhaust always raises QuotaExhausted
                return quota_exc
        if status == 401:
            what = "has expired" if category == "EXPIRED_AUTHENTICATION" else "was refused"
            return HubSpotAuthError(
                f"{self.source}: the HubSpot access token {what} (401 {category or ''} on "
                f"{op}). Private app tokens cannot be refreshed: create or rotate the token "
                f"in HubSpot (Settings > Integrations > Private apps) and set {TOKEN_VARIABLE}"
            )
        hint = ""
        if status == 403 and category == "MISSING_SCOPES":
            hint = " (the private app lacks a scope: add it in HubSpot's private app settings)"
        return HubSpotApiError(
            f"{self.source}: HubSpot {op} failed with HTTP {status}"
            f"{' ' + category if category else ''}: {message}{hint}",
            status=status,
            category=category,
            body=body,
            retry_after=parse_retry_after(_header(headers, "Retry-After")),
        )

    def _observe_quota(self, headers: Mapping[str, str]) -> None:
        lowered = {k.lower(): v for k, v in headers.items()}
        total = lowered.get(DAILY_LIMIT_HEADER.lower())
        remaining = lowered.get(DAILY_REMAINING_HEADER.lower())
        if total is None or remaining is None:
            return  # search replies and OAuth apps carry no daily headers
        try:
            total_n, remaining_n = int(total), int(remaining)
        except ValueError:
            logger.warning("%s: unreadable HubSpot daily limit headers", self.source)
            return
        self.quota.observe(used=max(total_n - remaining_n, 0), total=total_n)
