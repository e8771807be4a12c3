"""Shared fixtures of the connector tests (Salesforce section first; other CRMs append below).

The end-to-end tests run the real client libraries against the sandbox over HTTPS. When the
sandbox's API for a CRM cannot be loaded they skip with a message, except under CI=true,
where they fail.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

# ------------------------------------------------------------------------------ Salesforce


def _salesforce_sandbox_or_skip() -> Any:
    """The SandboxServer class when the sandbox's Salesforce API loads, else skip (fail in CI)."""
    try:
        server = importlib.import_module("connectors.sandbox.server")
        importlib.import_module("connectors.sandbox.salesforce")
        server._load_factory("salesforce")
    except (ImportError, AttributeError) as error:
        message = f"the Salesforce sandbox API is not available: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return server.SandboxServer


@pytest.fixture(scope="session")
def salesforce_sandbox_class() -> Any:
    """`SandboxServer`, or a skip (a failure under CI=true) when its Salesforce API is missing."""
    return _salesforce_sandbox_or_skip()


@pytest.fixture
def salesforce_sandbox(salesforce_sandbox_class: Any) -> Iterator[Callable[..., Any]]:
    """Start Salesforce sandboxes: `salesforce_sandbox(deals=N | fixture=..., faults=...)`."""
    sandbox_class = salesforce_sandbox_class
    started: list[Any] = []

    def start(**kwargs: Any) -> Any:
        kwargs.setdefault("apis", ["salesforce"])
        kwargs.setdefault("hold_seconds", 5.0)
        server = sandbox_class(**kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


# ------------------------------------------------------------------------------ HubSpot


def _hubspot_sandbox_or_skip() -> Any:
    """The SandboxServer class when the sandbox's HubSpot API loads, else skip (fail in CI)."""
    try:
        server = importlib.import_module("connectors.sandbox.server")
        importlib.import_module("connectors.sandbox.hubspot")
        server._load_factory("hubspot")
    except (ImportError, AttributeError) as error:
        message = f"the HubSpot sandbox API is not available: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return server.SandboxServer


@pytest.fixture
def hubspot_sandbox() -> Iterator[Callable[..., Any]]:
    """Start HubSpot sandboxes: `hubspot_sandbox(deals=N | fixture=..., faults=..., seed=...)`."""
    sandbox_class = _hubspot_sandbox_or_skip()
    started: list[Any] = []

    def start(**kwargs: Any) -> Any:
        kwargs.setdefault("apis", ["hubspot"])
        kwargs.setdefault("hold_seconds", 3.0)
        server = sandbox_class(**kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def hubspot_connector() -> Callable[..., Any]:
    """`hubspot_connector(server, **settings)`: a HubSpotConnector on a sandbox, fast retries."""
    from connectors.hubspot import HubSpotConnector
    from connectors.hubspot_settings import HubSpotSettings

    def make(server: Any, *, source: str = "hubspot", **overrides: Any) -> Any:
        options: dict[str, Any] = {
            "timeout": 1.0,
            "retry_attempts": 5,
            "retry_initial_wait": 0.01,
            "retry_max_wait": 0.05,
        }
        options.update(overrides)
        return HubSpotConnector(HubSpotSettings.from_env(server.env(), **options), source=source)

    return make
