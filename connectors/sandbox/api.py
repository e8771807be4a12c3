"""The contract between the sandbox's HTTP server and each emulated CRM API.

The server parses a request into `Request`, draws the faults for it, and either answers a
fault itself (transport faults: timeout, reset, truncate) or asks the CRM API for a response
in that API's own error shape. Everything else goes to `SandboxApi.handle`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

# Fault names of sandbox.md. The server handles TRANSPORT_FAULTS itself; the API answers
# STATUS_FAULTS through `fault_response`; REQUEST_FAULTS ride on the request for the API.
STATUS_FAULTS = frozenset({"429", "quota", "500", "502", "503", "expire"})
TRANSPORT_FAULTS = frozenset({"timeout", "reset", "truncate"})
REQUEST_FAULTS = frozenset({"lag"})
FAULT_NAMES = STATUS_FAULTS | TRANSPORT_FAULTS | REQUEST_FAULTS


@dataclass
class Request:
    """One parsed HTTP request."""

    method: str  # upper case
    path: str  # without the query string, percent-decoded
    query: dict[str, list[str]]  # every value of every parameter, in order
    headers: Mapping[str, str]  # lower-case names
    body: bytes = b""
    faults: frozenset[str] = frozenset()  # REQUEST_FAULTS drawn for this request

    def param(self, name: str, default: str | None = None) -> str | None:
        """First value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        """The body parsed as JSON (raises ValueError when it is not)."""
        return json.loads(self.body or b"null")

    def bearer_token(self) -> str | None:
        """The token of an `Authorization: Bearer …` header."""
        value = self.headers.get("authorization", "")
        scheme, _, token = value.partition(" ")
        return token.strip() if scheme.lower() in {"bearer", "oauth"} else None


@dataclass
class Response:
    """One HTTP response; `body` is sent as is with a Content-Length."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
        """A JSON response."""
        body = _json_bytes(payload)
        content_type = {"Content-Type": "application/json;charset=UTF-8"}
        return cls(status, body, {**content_type, **(headers or {})})

    @classmethod
    def text(
        cls, status: int, text: str, content_type: str, headers: Mapping[str, str] | None = None
    ) -> Response:
        """A text response (CSV, XML)."""
        return cls(status, text.encode(), {"Content-Type": content_type, **(headers or {})})


# orjson natively writes types the stdlib refuses; pass them to `default` so that they fail
# over to json.dumps, which answers for them exactly as it always did.
_ORJSON_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS
)


def _refuse(value: Any) -> Any:
    raise TypeError(type(value).__name__)


def _json_bytes(payload: Any) -> bytes:
    """Compact JSON: orjson (a page of 2,000 records in ~2 ms rather than ~12 ms), or the
    standard library for what orjson cannot write as it would (big ints, NaN, other types)."""
    try:
        return orjson.dumps(payload, default=_refuse, option=_ORJSON_OPTIONS)
    except TypeError:
        return json.dumps(payload, separators=(",", ":")).encode()


@dataclass(frozen=True)
class WriteEntry:
    """One field write the sandbox accepted."""

    crm: str  # "salesforce" | "hubspot"
    object: str  # "Opportunity", "deals", "properties"
    record_id: str
    field: str
    old: Any
    new: Any
    at: str  # ISO-8601 UTC


class WriteLog:
    """Every write the sandbox accepted, in order; thread-safe; read by tests."""

    def __init__(self) -> None:
        self._entries: list[WriteEntry] = []
        self._lock = threading.Lock()

    def record(
        self, *, crm: str, obj: str, record_id: str, changes: Mapping[str, tuple[Any, Any]]
    ) -> None:
        """Log one record's changed fields as (old, new) pairs."""
        at = datetime.now(UTC).isoformat()
        with self._lock:
            for name, (old, new) in changes.items():
                self._entries.append(WriteEntry(crm, obj, record_id, name, old, new, at))

    def entries(self, crm: str | None = None) -> list[WriteEntry]:
        """A copy of the log, optionally for one CRM."""
        with self._lock:
            return [e for e in self._entries if crm is None or e.crm == crm]

    def clear(self) -> None:
        """Forget every entry (tests use it between steps)."""
        with self._lock:
            self._entries.clear()


class SandboxApi(Protocol):
    """One emulated CRM API."""

    name: str  # "salesforce" | "hubspot"
    prefixes: tuple[str, ...]  # path prefixes it serves, e.g. ("/services/",)

    def handle(self, request: Request) -> Response:
        """Answer a request, authentication included (a bad token gets the API's real 401)."""

    def fault_response(self, fault: str, request: Request) -> Response:
        """The response for a STATUS_FAULTS fault, in this API's error shape."""

    def env(self, base_url: str) -> dict[str, str]:
        """The `export` variables that point the toolkit at this API (tokens, URLs)."""


class FixtureError(ValueError):
    """A fixture file that breaks the format, with the JSON path of the bad value."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message
