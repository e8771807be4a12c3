"""Shared fixtures for the sandbox tests: in-process HTTPS sandbox servers and client factories."""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hubspot import HubSpot

from connectors.sandbox.server import SandboxServer

# A small HubSpot world stated exactly (sandbox.md fixture format); expectations derive from it.
HUBSPOT_WORLD: dict[str, Any] = {
    "owners": [
        {"id": "101", "email": "ann@example.com", "firstName": "Ann", "lastName": "Lee"},
        {"id": "102", "email": "ben@example.com", "firstName": "Ben", "lastName": "Okafor"},
        {
            "id": "103",
            "email": "cy@example.com",
            "firstName": "Cy",
            "lastName": "Old",
            "archived": True,
        },
    ],
    "companies": [
        {"id": "501", "properties": {"name": "Acme", "industry": "RETAIL", "country": "Germany"}},
        {"id": "502", "properties": {"name": "Globex", "industry": "FINANCIAL_SERVICES"}},
    ],
    "deal_properties": [
        {"name": "pipeline_stale", "type": "bool", "fieldType": "booleancheckbox"},
        {"name": "pipeline_stale_since", "type": "date", "fieldType": "date"},
    ],
    "deals": [
        {
            "id": "9001",
            "properties": {
                "dealname": "Acme pilot",
                "amount": "1200",
                "dealstage": "qualifiedtobuy",
                "pipeline": "default",
                "closedate": "2026-07-31T00:00:00Z",
                "createdate": "2026-05-01T09:00:00Z",
                "hs_lastmodifieddate": "2026-05-20T10:00:00Z",
                "hubspot_owner_id": "101",
                "deal_currency_code": "USD",
                "dealtype": "newbusiness",
                "notes_last_updated": "2026-05-20T10:00:00Z",
            },
            "stage_history": [
                {"value": "appointmentscheduled", "timestamp": "2026-05-01T09:00:00Z"},
                {"value": "qualifiedtobuy", "timestamp": "2026-05-10T12:30:00Z"},
            ],
            "companies": ["501"],
        },
        {
            "id": "9002",
            "properties": {
                "dealname": "Globex renewal",
                "amount": "5099.99",
                "dealstage": "closedwon",
                "createdate": "2026-04-01T08:00:00Z",
                "hs_lastmodifieddate": "2026-06-01T08:00:00Z",
                "hubspot_owner_id": "102",
                "deal_currency_code": "EUR",
                "dealtype": "existingbusiness",
            },
            "stage_history": [
                {"value": "appointmentscheduled", "timestamp": "2026-04-01T08:00:00Z"},
                {"value": "contractsent", "timestamp": "2026-05-01T08:00:00Z"},
                {"value": "closedwon", "timestamp": "2026-06-01T08:00:00Z"},
            ],
            "companies": ["502"],
        },
        {
            "id": "9003",
            "properties": {
                "dealname": "Acme expansion",
                "amount": "300",
                "dealstage": "closedlost",
                "createdate": "2026-03-01T08:00:00Z",
                "hubspot_owner_id": "101",
            },
            "stage_history": [
                {"value": "appointmentscheduled", "timestamp": "2026-03-01T08:00:00Z"},
                {"value": "closedlost", "timestamp": "2026-03-15T08:00:00Z"},
            ],
        },
        {
            "id": "9004",
            "archived": True,
            "properties": {
                "dealname": "Old deal",
                "dealstage": "appointmentscheduled",
                "createdate": "2025-01-01T00:00:00Z",
            },
        },
        {
            "id": "9005",
            "properties": {
                "dealname": "No amount",
                "dealstage": "appointmentscheduled",
                "createdate": "2026-05-02T00:00:00Z",
                "hs_lastmodifieddate": "2026-05-25T00:00:00Z",
                "pipeline_stale": "true",
                "pipeline_stale_since": "2026-05-24",
            },
        },
    ],
}


def _start(**kwargs: Any) -> SandboxServer:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the Salesforce API is mounted only when importable
        return SandboxServer(**kwargs).start()


@pytest.fixture
def world() -> dict[str, Any]:
    """A fresh copy of HUBSPOT_WORLD, the `hubspot` section of a fixture (tests may mutate it)."""
    return copy.deepcopy(HUBSPOT_WORLD)


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., SandboxServer]]:
    """Factory: `make_sandbox(**SandboxServer kwargs)` -> a started server, stopped at teardown."""
    servers: list[SandboxServer] = []

    def build(**kwargs: Any) -> SandboxServer:
        servers.append(_start(**kwargs))
        return servers[-1]

    yield build
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    """A session-wide sandbox with a small generated world (seed 11, 250 deals). Don't write to it
    in tests that check totals; use `world_sandbox` or your own server for writes."""
    server = _start(deals=250, seed=11)
    yield server
    server.stop()


@pytest.fixture
def world_sandbox(
    make_sandbox: Callable[..., SandboxServer], world: dict[str, Any]
) -> SandboxServer:
    """A fresh sandbox per test holding exactly HUBSPOT_WORLD (no Salesforce data)."""
    return make_sandbox(fixture={"hubspot": world}, seed=0)


@pytest.fixture
def hubspot_client() -> Callable[..., HubSpot]:
    """Factory: `hubspot_client(server, token=None, **kwargs)` -> HubSpot client over HTTPS."""

    def build(server: SandboxServer, token: str | None = None, **kwargs: Any) -> HubSpot:
        access = token if token is not None else server.env()["HUBSPOT_ACCESS_TOKEN"]
        return HubSpot(access_token=access, host=server.url, ssl_ca_cert=server.ca_bundle, **kwargs)

    return build
