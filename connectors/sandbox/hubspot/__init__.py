"""The HubSpot sandbox: CRM v3 deals, companies, owners, pipelines and properties under `/crm/`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.sandbox.api import SandboxApi, WriteLog


def create_api(
    *, fixture: Mapping[str, Any] | None, deals: int, seed: int, write_log: WriteLog
) -> SandboxApi:
    """A HubSpot API over a generated portal (fixture None) or exactly the fixture's portal."""
    from connectors.sandbox.hubspot.fixture import load_state
    from connectors.sandbox.hubspot.generate import generate_state
    from connectors.sandbox.hubspot.sandbox_api import HubSpotApi

    state = generate_state(deals=deals, seed=seed) if fixture is None else load_state(fixture)
    return HubSpotApi(state, write_log=write_log)
