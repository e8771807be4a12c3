"""The HubSpot sandbox API: authentication, rate-limit headers, routing, faults."""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque

from connectors.sandbox.api import Request, Response, WriteLog
from connectors.sandbox.hubspot import endpoints, errors
from connectors.sandbox.hubspot.search import search_deals
from connectors.sandbox.hubspot.state import HubSpotState
from connectors.sandbox.hubspot.values import now_ms
from connectors.sandbox.hubspot.writes import (
    archive,
    batch_update,
    create_deal,
    create_property,
    update_one,
)

DAILY_LIMIT = 500_000
INTERVAL_MS = 10_000
INTERVAL_MAX = 190


class HubSpotApi:
    """`api.SandboxApi` for HubSpot CRM v3 under `/crm/`."""

    name = "hubspot"
    prefixes = ("/crm/",)

    def __init__(
        self, state: HubSpotState, *, write_log: WriteLog, token: str | None = None
    ) -> None:
        self.state = state
        self.write_log = write_log
        self.token = token or f"pat-sandbox-{secrets.token_hex(16)}"
        self._lock = threading.Lock()
        self._used_today = 0
        self._recent: deque[float] = deque()

    def env(self, base_url: str) -> dict[str, str]:
        """HUBSPOT_BASE_URL and HUBSPOT_ACCESS_TOKEN."""
        return {"HUBSPOT_BASE_URL": base_url, "HUBSPOT_ACCESS_TOKEN": self.token}

    def fault_response(self, fault: str, request: Request) -> Response:
        """429 (ten-secondly), quota (daily 429), 5xx, expire (401 EXPIRED_AUTHENTICATION)."""
        if fault == "429":
            return errors.rate_limited("TEN_SECONDLY_ROLLING")
        if fault == "quota":
            return errors.rate_limited("DAILY")
        if fault == "expire":
            return errors.error(401, errors.EXPIRED_MESSAGE, "EXPIRED_AUTHENTICATION")
        return errors.server_error(int(fault))

    def handle(self, request: Request) -> Response:
        """Check the token, route, and add the rate-limit headers."""
        if request.bearer_token() != self.token:
            return errors.error(401, errors.AUTH_MESSAGE, "INVALID_AUTHENTICATION")
        response = self._route(request)
        if not request.path.endswith("/search"):  # search replies carry no rate-limit headers
            response.headers.update(self._rate_headers())
        return response

    def _rate_headers(self) -> dict[str, str]:
        now = time.monotonic()
        with self._lock:
            self._used_today += 1
            self._recent.append(now)
            while self._recent and self._recent[0] < now - INTERVAL_MS / 1000:
                self._recent.popleft()
            return {
                "X-HubSpot-RateLimit-Daily": str(DAILY_LIMIT),
                "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, DAILY_LIMIT - self._used_today)),
                "X-HubSpot-RateLimit-Interval-Milliseconds": str(INTERVAL_MS),
                "X-HubSpot-RateLimit-Max": str(INTERVAL_MAX),
                "X-HubSpot-RateLimit-Remaining": str(max(0, INTERVAL_MAX - len(self._recent))),
            }

    def _route(self, request: Request) -> Response:
        parts = [part for part in request.path.split("/") if part]
        method, state = request.method, self.state
        if parts[:3] == ["crm", "v3", "owners"] and method == "GET":
            return endpoints.list_owners(state, request)
        v4_companies = ["crm", "v4", "associations", "deals", "companies", "batch", "read"]
        if parts == v4_companies and method == "POST":
            return endpoints.batch_read_deal_companies(state, request)
        if parts[:2] != ["crm", "v3"] or len(parts) < 4:
            return _no_route(request)
        kind, obj, rest = parts[2], parts[3], parts[4:]
        if kind == "objects" and obj == "deals":
            if not rest and method == "GET":
                return endpoints.list_deals(state, request)
            if not rest and method == "POST":
                return create_deal(state, _json(request), self.write_log)
            if rest == ["search"] and method == "POST":
                return search_deals(
                    state, _json(request), lag="lag" in request.faults, now=now_ms()
                )
            if rest == ["batch", "read"] and method == "POST":
                return endpoints.batch_read_deals(state, request)
            if rest == ["batch", "update"] and method == "POST":
                return batch_update(state, _json(request), self.write_log)
            if len(rest) == 1 and method == "GET":
                return endpoints.get_deal(state, request, rest[0])
            if len(rest) == 1 and method == "PATCH":
                return update_one(state, rest[0], _json(request), self.write_log)
            if len(rest) == 1 and method == "DELETE":
                return archive(state, rest[0], self.write_log)
        if kind == "objects" and obj == "companies":
            if not rest and method == "GET":
                return endpoints.list_companies(state, request)
            if rest == ["batch", "read"] and method == "POST":
                return endpoints.batch_read_companies(state, request)
        if kind == "pipelines" and obj == "deals" and method == "GET" and len(rest) <= 1:
            return endpoints.pipelines(state, rest[0] if rest else None)
        if kind == "properties" and obj == "deals":
            if not rest and method == "POST":
                return create_property(state, _json(request), self.write_log)
            if len(rest) <= 1 and method == "GET":
                return endpoints.properties(state, rest[0] if rest else None)
        return _no_route(request)


def _json(request: Request) -> object:
    try:
        return request.json()
    except ValueError:
        return None


def _no_route(request: Request) -> Response:
    return errors.error(404, f"No route for {request.method} {request.path}", "OBJECT_NOT_FOUND")
