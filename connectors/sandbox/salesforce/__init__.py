"""The Salesforce sandbox API: a local stand-in that simple-salesforce talks to over HTTPS.

`create_api` builds the org (generated, or exactly a fixture's `salesforce` section) and
returns the `SandboxApi` the server mounts under `/services/`. See shared/spec/sandbox.md and
crm-apis.md section A.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from connectors.sandbox.api import Request, Response, SandboxApi, WriteLog
from connectors.sandbox.salesforce.auth import MY_DOMAIN, Auth, soap_fault
from connectors.sandbox.salesforce.bulk import BulkApi
from connectors.sandbox.salesforce.errors import (
    ApiError,
    error_response,
    invalid_session,
    not_found,
)
from connectors.sandbox.salesforce.fixture import load_fixture
from connectors.sandbox.salesforce.generate import generate
from connectors.sandbox.salesforce.ids import make_ids
from connectors.sandbox.salesforce.query import QueryResource
from connectors.sandbox.salesforce.rest import DAILY_API_REQUESTS, RestApi
from connectors.sandbox.salesforce.state import OrgState

__all__ = ["SalesforceApi", "create_api"]

_DATA = re.compile(r"^/services/data/v(\d{2}\.\d)(?:/(.*))?$")
_SOAP = re.compile(r"^/services/Soap/u/(\d{2}\.\d)(?:/.*)?$")
_TOKEN_PATH = "/services/oauth2/token"
_STATUS_FAULTS: dict[str, tuple[int, str, str]] = {
    "429": (403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded."),
    "quota": (403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
    "500": (
        500,
        "UNKNOWN_EXCEPTION",
        "An unexpected error occurred. Please include this ErrorId if you contact support: "
        "1234567890-12345 (-1234567890)",
    ),
    "502": (502, "BAD_GATEWAY", "Bad Gateway: the server received an invalid response"),
    "503": (503, "SERVER_UNAVAILABLE", "Server temporarily unavailable, please try again"),
}


class SalesforceApi:
    """`api.SandboxApi` for Salesforce: auth, REST query/describe/writes, Bulk 2.0, limits."""

    name = "salesforce"
    prefixes = ("/services/",)

    def __init__(self, state: OrgState, *, write_log: WriteLog, seed: int) -> None:
        self.state = state
        self.write_log = write_log
        org_id = make_ids("00D", seed % 1_000_000, 1)[0]
        self.auth = Auth(org_id=org_id, user_id=state.api_user_id)
        self.rest = RestApi(state, write_log=write_log)
        self.queries = QueryResource(state)
        self.bulk = BulkApi(state, write_log=write_log, seed=seed)
        self.base_url: str | None = None
        self._usage = 0
        self._usage_lock = threading.Lock()

    # -- SandboxApi ----------------------------------------------------------------------
    def env(self, base_url: str) -> dict[str, str]:
        """Variables that point the toolkit at this org (direct token and login credentials)."""
        self.base_url = base_url.rstrip("/")
        return {
            "SALESFORCE_INSTANCE_URL": self.base_url,
            "SALESFORCE_ACCESS_TOKEN": self.auth.direct_token,
            "SALESFORCE_CLIENT_ID": self.auth.client_id,
            "SALESFORCE_CLIENT_SECRET": self.auth.client_secret,
            "SALESFORCE_DOMAIN": MY_DOMAIN,
            "SALESFORCE_LOGIN_URL": self.base_url,
            "SALESFORCE_USERNAME": self.auth.username,
            "SALESFORCE_PASSWORD": self.auth.password,
            "SALESFORCE_SECURITY_TOKEN": self.auth.security_token,
        }

    def handle(self, request: Request) -> Response:
        """Answer one request under `/services/`."""
        path = request.path
        if path == _TOKEN_PATH:
            return self.auth.oauth_token(request, base_url=self._base(request))
        soap = _SOAP.match(path)
        if soap:
            if request.method != "POST":
                return soap_fault(
                    "INVALID_OPERATION", "SOAP requests must use POST", kind="UnexpectedErrorFault"
                )
            return self.auth.soap_login(
                request, base_url=self._base(request), version=soap.group(1)
            )
        if path.rstrip("/") == "/services/data":
            return RestApi.versions()
        data = _DATA.match(path)
        if not data:
            return not_found().response()
        if not self.auth.is_valid(request.bearer_token()):
            return self._with_usage(invalid_session().response(), count=False)
        try:
            response = self._route(request, version=data.group(1), rest=data.group(2) or "")
        except ApiError as error:
            response = error.response()
        return self._with_usage(response, count=True)

    def fault_response(self, fault: str, request: Request) -> Response:
        """A status fault in Salesforce's shape (OAuth and SOAP logins in theirs)."""
        path = request.path
        if fault == "expire":
            if not _DATA.match(path):
                return self.handle(request)  # a login is not a session: nothing to expire
            self.auth.expire(request.bearer_token())
            return invalid_session().response()
        if fault == "quota" and not _DATA.match(path):
            # Logins do not count against (nor stop at) the daily API request limit; the
            # first API call after them gets the 403.
            return self.handle(request)
        status, code, message = _STATUS_FAULTS[fault]
        if path == _TOKEN_PATH:
            return Response.json(
                status if status >= 500 else 400,
                {
                    "error": "unknown_error" if status >= 500 else "rate_limited",
                    "error_description": message,
                },
            )
        if _SOAP.match(path):
            return soap_fault(code, message, kind="UnexpectedErrorFault")
        return error_response(status, code, message)

    # -- routing ---------------------------------------------------------------------------
    def _route(self, request: Request, *, version: str, rest: str) -> Response:
        """Dispatch a `/services/data/vXX.X/<rest>` request."""
        head, _, tail = rest.partition("/")
        if head == "":
            return RestApi.resources(version)
        if head in {"query", "queryAll"}:
            return self.queries.handle(request, rest=rest.rstrip("/"), version=version)
        if head == "sobjects":
            return self.rest.sobjects(request, tail, version=version)
        if head == "composite" and tail.strip("/") == "sobjects":
            return self.rest.collections(request)
        if head == "limits" and not tail.strip("/"):
            return RestApi.limits(self.api_usage)
        if head == "jobs":
            return self.bulk.handle(request, rest, version=version)
        raise not_found()

    def _base(self, request: Request) -> str:
        """The instance URL logins hand out: the served base URL, else the request's host."""
        if self.base_url:
            return self.base_url
        return f"https://{request.headers.get('host', '127.0.0.1')}"

    @property
    def api_usage(self) -> int:
        """API requests counted today."""
        with self._usage_lock:
            return self._usage

    def _with_usage(self, response: Response, *, count: bool) -> Response:
        """Count an API call and add `Sforce-Limit-Info`."""
        with self._usage_lock:
            if count:
                self._usage += 1
            used = self._usage
        response.headers["Sforce-Limit-Info"] = f"api-usage={used}/{DAILY_API_REQUESTS}"
        return response


def create_api(
    *, fixture: Mapping[str, Any] | None, deals: int, seed: int, write_log: WriteLog
) -> SandboxApi:
    """The Salesforce sandbox: generated data with `deals` opportunities when `fixture` is
    None, otherwise exactly the fixture's `salesforce` section (FixtureError when bad)."""
    if fixture is None:
        state = generate(deals=deals, seed=seed)
    else:
        state = load_fixture(fixture, now=datetime.now(UTC).replace(microsecond=0))
    return SalesforceApi(state, write_log=write_log, seed=seed)
