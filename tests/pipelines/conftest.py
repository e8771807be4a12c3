"""Fixtures for the Dagster and CLI tests: an in-process sandbox and a clean environment."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.sandbox.server import SandboxServer

CRM_PREFIXES = ("SALESFORCE_", "HUBSPOT_", "PIPELINES_ETL_")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    """A sandbox with 300 generated deals per CRM, for one test module."""
    server = SandboxServer(port=0, deals=300, seed=5)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No CRM credentials, configuration or warehouse URL from the developer's shell."""
    import os

    for name in list(os.environ):
        if name.startswith(CRM_PREFIXES):
            monkeypatch.delenv(name)
    return monkeypatch
