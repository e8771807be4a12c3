"""Fixtures of the stale-flag tests: small sandbox worlds for both CRMs whose stale deals are
computed by hand, a SQLite warehouse, and a harness that syncs, detects (at a fixed `NOW`),
pushes and reads back through the real clients and the sandbox's write log.

Hand computation at NOW = 2026-06-30T12:00Z, no learned thresholds (fewer than 20 stays):
- Salesforce A: Proposal/Price Quote (Proposal) since 2026-05-01 -> 60 days > 30: stuck.
- Salesforce B: Prospecting since 2026-06-20, close date 2026-06-01 -> 29 days past > 7.
- Salesforce C: Qualification since 2026-06-25, activity 2026-06-29 -> not stale.
- Salesforce D: Closed Lost -> never flagged.
- HubSpot 9001: presentationscheduled (Appointment / demo) since 2026-05-01 -> 60 days: stuck.
- HubSpot 9002: appointmentscheduled since 2026-06-20, close 2026-06-01 -> 29 days past.
- HubSpot 9003: qualifiedtobuy since 2026-06-25 -> not stale. HubSpot 9004: closedlost.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest
import requests
import sqlalchemy as sa
from hubspot import HubSpot
from simple_salesforce import Salesforce

from connectors.sandbox.server import SandboxServer
from pipelines_etl.config import AppConfig, parse_config
from pipelines_etl.flags import DetectResult, PushResult, detect_stale_deals, push_flags
from pipelines_etl.sources import Source, configured_sources
from pipelines_etl.sync import SyncOutcome, open_warehouse, run_sync
from warehouse.schema import flag_writes, stale_deal_flags

NOW = pd.Timestamp("2026-06-30T12:00:00Z")
TODAY = date(2026, 6, 30)

SF_USER = "005Aa0000000001IAA"
SF_A, SF_B, SF_C, SF_D = (f"006Aa000000000{i}IAA" for i in (1, 2, 3, 4))
SF_FLAG_FIELDS = [
    {"name": "Pipeline_Stale__c", "type": "boolean"},
    {"name": "Pipeline_Stale_Reason__c", "type": "string", "length": 255},
    {"name": "Pipeline_Stale_Since__c", "type": "date"},
]
HS_FLAG_PROPERTIES = [
    {"name": "pipeline_stale", "type": "bool", "fieldType": "booleancheckbox"},
    {"name": "pipeline_stale_reason", "type": "string", "fieldType": "text"},
    {"name": "pipeline_stale_since", "type": "date", "fieldType": "date"},
]

REASON_SF_A = "stuck_in_stage: 60 days in Proposal (threshold 30, default)"
REASON_PAST = "past_close_date: close date 2026-06-01 is 29 days past (threshold 7)"
REASON_HS_1 = "stuck_in_stage: 60 days in Appointment / demo (threshold 30, default)"


def _opp(oid: str, stage: str, entered: str, *, close: str, activity: str | None) -> dict:
    stamp = f"{entered}T00:00:00.000+0000"
    return {
        "Id": oid, "Name": f"deal {oid[-4:]}", "OwnerId": SF_USER, "StageName": stage,
        "Amount": 1000, "CloseDate": close, "CreatedDate": stamp, "LastModifiedDate": stamp,
        "SystemModstamp": stamp, "LastActivityDate": activity, "Type": "New Customer",
    }  # fmt: skip


SALESFORCE_WORLD: dict[str, Any] = {
    "users": [{"Id": SF_USER, "FirstName": "Ann", "LastName": "Lee",
               "Email": "ann@example.com", "Username": "ann@example.com", "IsActive": True}],
    "opportunity_custom_fields": SF_FLAG_FIELDS,
    "opportunities": [
        _opp(SF_A, "Proposal/Price Quote", "2026-05-01", close="2026-08-31", activity="2026-06-25"),
        _opp(SF_B, "Prospecting", "2026-06-20", close="2026-06-01", activity="2026-06-28"),
        _opp(SF_C, "Qualification", "2026-06-25", close="2026-09-30", activity="2026-06-29"),
        _opp(SF_D, "Closed Lost", "2026-03-01", close="2026-03-01", activity=None),
    ],
    "opportunity_history": [
        {"OpportunityId": SF_A, "StageName": "Proposal/Price Quote",
         "CreatedDate": "2026-05-01T00:00:00.000+0000"},
        {"OpportunityId": SF_B, "StageName": "Prospecting",
         "CreatedDate": "2026-06-20T00:00:00.000+0000"},
        {"OpportunityId": SF_C, "StageName": "Qualification",
         "CreatedDate": "2026-06-25T00:00:00.000+0000"},
        {"OpportunityId": SF_D, "StageName": "Closed Lost",
         "CreatedDate": "2026-03-01T00:00:00.000+0000"},
    ],
}  # fmt: skip


def _deal(did: str, stage: str, entered: str, *, close: str, activity: str | None) -> dict:
    props = {
        "dealname": f"deal {did}", "amount": "1000", "dealstage": stage, "pipeline": "default",
        "closedate": f"{close}T00:00:00Z", "createdate": f"{entered}T00:00:00Z",
        "hs_lastmodifieddate": f"{entered}T00:00:00Z", "hubspot_owner_id": "101",
        "deal_currency_code": "USD", "dealtype": "newbusiness",
    }  # fmt: skip
    if activity:
        props["notes_last_updated"] = f"{activity}T00:00:00Z"
    return {
        "id": did,
        "properties": props,
        "stage_history": [{"value": stage, "timestamp": f"{entered}T00:00:00Z"}],
    }


HUBSPOT_WORLD: dict[str, Any] = {
    "owners": [{"id": "101", "email": "ann@example.com", "firstName": "Ann", "lastName": "Lee"}],
    "deal_properties": HS_FLAG_PROPERTIES,
    "deals": [
        _deal("9001", "presentationscheduled", "2026-05-01", close="2026-08-31",
              activity="2026-06-25"),
        _deal("9002", "appointmentscheduled", "2026-06-20", close="2026-06-01",
              activity="2026-06-28"),
        _deal("9003", "qualifiedtobuy", "2026-06-25", close="2026-09-30", activity="2026-06-29"),
        _deal("9004", "closedlost", "2026-03-01", close="2026-03-01", activity=None),
    ],
}  # fmt: skip

FAST = {
    "salesforce": {"retry": {"attempts": 2, "initial_wait": 0.01, "max_wait": 0.02}},
    "hubspot": {"retry_attempts": 2, "retry_initial_wait": 0.01, "retry_max_wait": 0.02},
}


@dataclass
class FlagHarness:
    """One sandbox (one or both CRMs), one SQLite warehouse, and the flag steps between them."""

    server: SandboxServer
    engine: sa.Engine
    config_data: dict[str, Any] = field(
        default_factory=lambda: {"safety": {"max_new_flags_share": 1.0}}
    )

    @property
    def config(self) -> AppConfig:
        """The configuration with every sandbox API as a source, with fast retries."""
        data = copy.deepcopy(self.config_data)
        data["sources"] = {name: {"type": name, "options": FAST[name]} for name in self.server.apis}
        return parse_config(data)

    def env(self) -> dict[str, str]:
        """The environment pointing at the sandbox."""
        return self.server.env()

    def sources(self) -> list[Source]:
        """The configured sources."""
        return configured_sources(self.config, self.env())

    def sync(self, now: pd.Timestamp = NOW) -> SyncOutcome:
        """One run of the nightly sync (as the CLI runs it), its detection and metrics at `now`."""
        outcome = run_sync(
            engine=self.engine,
            sources=self.sources(),
            app_config=self.config,
            env=self.env(),
            now=now,
        )
        assert outcome.ok, [s.message for s in outcome.sources]
        return outcome

    def detect(self, now: pd.Timestamp = NOW) -> DetectResult:
        """Stale detection at `now`."""
        return detect_stale_deals(self.engine, app_config=self.config, now=now)

    def push(self, *, apply: bool = True) -> PushResult:
        """A push of every source."""
        return push_flags(
            self.engine, sources=self.sources(), app_config=self.config, env=self.env(),
            apply=apply,
        )  # fmt: skip

    def nightly(self, now: pd.Timestamp = NOW) -> DetectResult:
        """The nightly sync; its stale detection (at `now`) is the result."""
        stale = self.sync(now).stale
        assert stale is not None
        return stale

    def flags(self) -> dict[str, dict[str, Any]]:
        """deal_key -> its stale_deal_flags row."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(stale_deal_flags)).mappings().all()
        return {row["deal_key"]: dict(row) for row in rows}

    def writes(self) -> list[dict[str, Any]]:
        """flag_writes rows, oldest first."""
        with self.engine.connect() as conn:
            query = sa.select(flag_writes).order_by(flag_writes.c.id)
            return [dict(row) for row in conn.execute(query).mappings()]

    def crm_log(self, crm: str) -> list[Any]:
        """The sandbox's log of accepted writes to one CRM's deals."""
        return [e for e in self.server.write_log.entries(crm) if e.object != "properties"]

    def salesforce(self) -> Salesforce:
        """simple-salesforce on the sandbox org (as an admin or a script would use it)."""
        session = requests.Session()
        session.verify = self.server.ca_bundle
        session.trust_env = False
        env = self.env()
        return Salesforce(
            instance_url=env["SALESFORCE_INSTANCE_URL"],
            session_id=env["SALESFORCE_ACCESS_TOKEN"],
            session=session,
        )

    def hubspot(self) -> HubSpot:
        """hubspot-api-client on the sandbox portal."""
        return HubSpot(
            access_token=self.env()["HUBSPOT_ACCESS_TOKEN"],
            host=self.server.url,
            ssl_ca_cert=self.server.ca_bundle,
        )

    def sf_flags(self, oid: str) -> tuple[Any, Any, Any]:
        """(flag, reason, since) of an Opportunity, read through the API."""
        record = self.salesforce().Opportunity.get(oid)
        return (
            record["Pipeline_Stale__c"],
            record["Pipeline_Stale_Reason__c"],
            record["Pipeline_Stale_Since__c"],
        )

    def hs_flags(self, did: str) -> tuple[Any, Any, Any]:
        """(flag, reason, since) of a HubSpot deal, read through the API."""
        names = ["pipeline_stale", "pipeline_stale_reason", "pipeline_stale_since"]
        deal = self.hubspot().crm.deals.basic_api.get_by_id(did, properties=names)
        return tuple(deal.properties.get(name) for name in names)  # type: ignore[return-value]


def world(*, salesforce: bool = True, hubspot: bool = True) -> dict[str, Any]:
    """A fresh copy of the fixture world (tests may change it before starting a sandbox)."""
    out: dict[str, Any] = {}
    if salesforce:
        out["salesforce"] = copy.deepcopy(SALESFORCE_WORLD)
    if hubspot:
        out["hubspot"] = copy.deepcopy(HUBSPOT_WORLD)
    return out


@pytest.fixture
def make_harness(tmp_path: Path) -> Iterator[Callable[..., FlagHarness]]:
    """Factory: `make_harness(fixture=..., apis=[...])` -> a FlagHarness on a fresh sandbox."""
    servers: list[SandboxServer] = []
    engines: list[sa.Engine] = []

    def build(*, fixture: dict[str, Any] | None = None, apis: list[str] | None = None,
              **sandbox: Any) -> FlagHarness:  # fmt: skip
        fixture = fixture if fixture is not None else world()
        apis = apis or list(fixture)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server = SandboxServer(fixture=fixture, apis=apis, hold_seconds=2.0, **sandbox)
            servers.append(server.start())
        engine = open_warehouse(f"sqlite:///{tmp_path / f'wh{len(engines)}.db'}")
        engines.append(engine)
        return FlagHarness(server=server, engine=engine)

    yield build
    for engine in engines:
        engine.dispose()
    for server in servers:
        server.stop()


@pytest.fixture
def fx() -> SimpleNamespace:
    """The world's ids, expected reasons, dates and builders (test modules cannot import
    this conftest under importlib mode)."""
    return SimpleNamespace(
        NOW=NOW, TODAY=TODAY, SF_A=SF_A, SF_B=SF_B, SF_C=SF_C, SF_D=SF_D,
        REASON_SF_A=REASON_SF_A, REASON_PAST=REASON_PAST, REASON_HS_1=REASON_HS_1,
        SF_FLAG_FIELDS=SF_FLAG_FIELDS, world=world,
    )  # fmt: skip
