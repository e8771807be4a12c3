"""The sandbox's HTTPS server: one threaded server on 127.0.0.1 that mounts the emulated CRM APIs.

It parses each request into `api.Request`, draws its faults, answers transport faults itself
(timeout, reset, truncate), asks the API for status faults, and hands the rest to the API whose
path prefix matches. `/__sandbox__/...` serves the write log and fault counts to out-of-process
tests. See `shared/spec/sandbox.md`.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import shutil
import socket
import ssl
import struct
import sys
import threading
import traceback
import warnings
from collections.abc import Callable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from connectors.sandbox.after_response import deferring, run_all
from connectors.sandbox.api import FixtureError, Request, Response, SandboxApi, WriteLog
from connectors.sandbox.faults import FaultPlan
from connectors.sandbox.tls import write_certificates

API_MODULES: dict[str, str] = {
    "salesforce": "connectors.sandbox.salesforce",
    "hubspot": "connectors.sandbox.hubspot",
}
DEFAULT_DEALS = 1000
ADMIN_PREFIX = "/__sandbox__/"
CA_BUNDLE_VARIABLE = "PIPELINES_ETL_CA_BUNDLE"


def _load_factory(name: str) -> Callable[..., SandboxApi]:
    module = importlib.import_module(API_MODULES[name])
    return module.create_api


def split_fixture(fixture: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any] | None]:
    """Each API's section of a fixture (None: generate; {} when the fixture lacks the key)."""
    if fixture is None:
        return dict.fromkeys(API_MODULES)
    if not isinstance(fixture, Mapping):
        raise FixtureError("$", "the fixture must be a JSON object")
    for key in fixture:
        if key not in API_MODULES:
            raise FixtureError(str(key), f"unknown section (expected {' or '.join(API_MODULES)})")
    sections: dict[str, Mapping[str, Any] | None] = {}
    for name in API_MODULES:
        section = fixture.get(name, {})
        if not isinstance(section, Mapping):
            raise FixtureError(name, "must be a JSON object")
        sections[name] = section
    return sections


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], *, sandbox: SandboxServer, context: ssl.SSLContext
    ):
        self.sandbox = sandbox
        self.ssl_context = context
        super().__init__(address, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Do the TLS handshake in the connection's own thread, then serve it."""
        request.settimeout(30)
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up are normal here (faults, timeouts); stay quiet about them."""
        if isinstance(sys.exc_info()[1], ConnectionError | ssl.SSLError | TimeoutError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HttpServer
    timeout = 120  # idle keep-alive connections close after this

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request log lines."""

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PATCH = do_PUT = do_DELETE = do_GET

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        sandbox = self.server.sandbox
        split = urlsplit(self.path)
        path = unquote(split.path)
        request = Request(
            method=self.command.upper(),
            path=path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=self._read_body(),
        )
        if path.startswith(ADMIN_PREFIX):
            self._send(sandbox.admin(request))
            return
        api = sandbox.api_for(path)
        if api is None:
            self._send(Response.json(404, {"status": "error", "message": f"No route for {path}"}))
            return
        draw = sandbox.faults.draw()
        request.faults = draw.request
        if draw.transport == "timeout":
            self._hold(sandbox)
            return
        with deferring() as pending:
            try:
                if draw.status is not None:
                    response = api.fault_response(draw.status, request)
                else:
                    response = api.handle(request)
            except Exception:
                traceback.print_exc(file=sys.stderr)
                response = Response.json(
                    500, {"status": "error", "message": "internal sandbox error"}
                )
        try:
            if draw.transport == "reset":
                self._send_reset(response)
            elif draw.transport == "truncate":
                self._send(_truncated(response))
            else:
                self._send(response)
        finally:
            run_all(pending)  # work the API left for after the response (after_response.py)

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            if name.lower() not in {"content-length", "connection"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self._headers_buffer.append(b"\r\n")  # headers and body in one write
        if self.command != "HEAD":
            self._headers_buffer.append(response.body)
        self.flush_headers()

    def _hold(self, sandbox: SandboxServer) -> None:
        """`timeout`: answer nothing until the hold ends or the server stops, then hang up."""
        self.close_connection = True
        sandbox.stopping.wait(sandbox.hold_seconds)

    def _send_reset(self, response: Response) -> None:
        """`reset`: headers and part of the body, then an abrupt close (TCP RST)."""
        self.close_connection = True
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body[: len(response.body) // 2])
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()


def _truncated(response: Response) -> Response:
    """`truncate`: a 200 whose body is cut short, with a Content-Length that matches the cut."""
    body = response.body
    cut = body[: max(0, min(len(body) - 1, len(body) * 2 // 3))]
    return Response(200, cut, dict(response.headers))


class SandboxServer:
    """The sandbox CRMs over HTTPS on 127.0.0.1, in a background thread; also a context manager."""

    def __init__(
        self,
        *,
        port: int = 0,
        deals: int | None = None,
        fixture: Mapping[str, Any] | None = None,
        seed: int = 0,
        faults: str | None = None,
        apis: Sequence[str] | None = None,
        hold_seconds: float = 30.0,
    ) -> None:
        self.port = port
        self.hold_seconds = hold_seconds
        self.stopping = threading.Event()
        self.write_log = WriteLog()
        self.faults = FaultPlan(faults, seed=seed)
        sections = split_fixture(fixture)
        count = deals if deals is not None else DEFAULT_DEALS
        self.apis: dict[str, SandboxApi] = {}
        for name in apis if apis is not None else tuple(API_MODULES):
            if name not in API_MODULES:
                raise ValueError(f"unknown sandbox API {name!r}")
            try:
                factory = _load_factory(name)
            except (ImportError, AttributeError) as error:
                if apis is not None:
                    raise
                warnings.warn(f"sandbox: {name} API not available ({error})", stacklevel=2)
                continue
            self.apis[name] = factory(
                fixture=sections[name], deals=count, seed=seed, write_log=self.write_log
            )
        self._tls = write_certificates()
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> SandboxServer:
        """Bind and serve in a daemon thread; returns self."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self._tls.cert_chain, self._tls.key)
        self._httpd = _HttpServer(("127.0.0.1", self.port), sandbox=self, context=context)
        self.port = self._httpd.server_address[1]
        self.env()  # tell every API its base URL before the first request
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, release held connections, remove the certificate files."""
        self.stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        shutil.rmtree(self._tls.directory, ignore_errors=True)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what clients and tests need ------------------------------------------------------
    @property
    def url(self) -> str:
        """Base URL, e.g. https://127.0.0.1:8443."""
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_bundle(self) -> str:
        """Path of the PEM file that clients must trust."""
        return str(self._tls.ca_bundle)

    def env(self) -> dict[str, str]:
        """The environment that points the toolkit at this sandbox."""
        variables: dict[str, str] = {}
        for api in self.apis.values():
            variables.update(api.env(self.url))
        variables[CA_BUNDLE_VARIABLE] = self.ca_bundle
        return variables

    @property
    def fault_counts(self) -> dict[str, int]:
        """How many of each fault were injected."""
        return self.faults.counts()

    def set_faults(self, spec: str | None) -> None:
        """Replace the fault rules at run time (ValueError on a bad spec)."""
        self.faults.set_spec(spec)

    def api_for(self, path: str) -> SandboxApi | None:
        """The API whose path prefix matches."""
        for api in self.apis.values():
            if any(path.startswith(prefix) for prefix in api.prefixes):
                return api
        return None

    def admin(self, request: Request) -> Response:
        """`/__sandbox__/writes` and `/__sandbox__/faults`, for out-of-process tests."""
        name = request.path[len(ADMIN_PREFIX) :].strip("/")
        if name == "writes" and request.method == "GET":
            entries = self.write_log.entries(request.param("crm"))
            payload = [dataclasses.asdict(entry) for entry in entries]
            return Response(
                200, json.dumps(payload, default=str).encode(), {"Content-Type": "application/json"}
            )
        if name == "writes" and request.method == "DELETE":
            self.write_log.clear()
            return Response.json(200, {"cleared": True})
        if name == "faults" and request.method == "GET":
            return Response.json(
                200, {"counts": self.fault_counts, "requests": self.faults.requests}
            )
        if name == "faults" and request.method == "POST":
            try:
                body = request.json()
                spec = body.get("spec") if isinstance(body, dict) else None
                if spec is not None and not isinstance(spec, str):
                    raise ValueError("spec must be a string")
                self.set_faults(spec)
            except ValueError as error:
                return Response.json(400, {"error": str(error)})
            return Response.json(200, {"spec": spec})
        return Response.json(404, {"error": f"no admin endpoint {request.method} {request.path}"})
