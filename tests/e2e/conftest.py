"""Shared fixtures of the end-to-end sync tests: sandbox CRMs over HTTPS, warehouses on SQLite
and PostgreSQL (a fresh schema each, dropped afterwards), a non-UTC local time zone, and a
`SyncHarness` that runs `pipelines_etl.sync.run_sync` and reads the warehouse back.

PostgreSQL tests skip with a message when the server is unreachable, except under CI=true,
where they fail.
"""

from __future__ import annotations

import copy
import os
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from hubspot import HubSpot
from simple_salesforce import Salesforce

from connectors.sandbox.server import SandboxServer
from pipelines_etl.config import AppConfig, parse_config
from pipelines_etl.sources import configured_sources
from pipelines_etl.sync import SyncOutcome, open_warehouse, run_sync
from warehouse.schema import deal_stage_history, deals, quarantine, sync_runs

LOCAL_TZ = "America/New_York"

# Fast retries: the faults under test are not retriable or heal at once.
FAST_SALESFORCE = {"retry": {"attempts": 3, "initial_wait": 0.01, "max_wait": 0.05}}
FAST_HUBSPOT = {"retry_attempts": 3, "retry_initial_wait": 0.01, "retry_max_wait": 0.05}

# ---------------------------------------------------------------------------- the world
# Ids and stamps are stated exactly; tests compute expected canonical values from them by hand.
SF_ANN, SF_BEN = "005Aa0000000001IAA", "005Aa0000000002IAA"
SF_ACME, SF_GLOBEX = "001Aa0000000001IAA", "001Aa0000000002IAA"
SF_OPEN, SF_RENEWAL, SF_LOST, SF_DELETED, SF_NO_HISTORY = (
    "006Aa0000000001IAA",
    "006Aa0000000002IAA",
    "006Aa0000000003IAA",
    "006Aa0000000004IAA",
    "006Aa0000000005IAA",
)

SALESFORCE_WORLD: dict[str, Any] = {
    "multi_currency": True,
    "users": [
        {"Id": SF_ANN, "FirstName": "Ann", "LastName": "Lee", "Email": "Ann.Lee@Example.COM",
         "Username": "ann@example.com", "IsActive": True},
        {"Id": SF_BEN, "FirstName": "Ben", "LastName": "Okafor", "Email": "ben@example.com",
         "Username": "ben@example.com", "IsActive": True},
    ],
    "accounts": [
        {"Id": SF_ACME, "Name": "Acme", "Industry": "Retail", "BillingCountry": "Germany"},
        {"Id": SF_GLOBEX, "Name": "Globex", "Industry": "Finance", "BillingCountry": "UK"},
    ],
    "currency_types": [
        {"IsoCode": "EUR", "ConversionRate": 0.92, "IsCorporate": False},
        {"IsoCode": "GBP", "ConversionRate": 0.79, "IsCorporate": False},
    ],
    "opportunities": [
        {"Id": SF_OPEN, "Name": "Acme pilot", "AccountId": SF_ACME, "OwnerId": SF_ANN,
         "StageName": "Needs Analysis", "Amount": 1200.5, "CurrencyIsoCode": "EUR",
         "CloseDate": "2026-07-31", "CreatedDate": "2026-05-01T09:00:00.000+0000",
         "LastModifiedDate": "2026-05-20T10:00:00.000+0000",
         "SystemModstamp": "2026-05-20T10:00:00.000+0000", "LastActivityDate": "2026-05-20",
         "LeadSource": "Web", "Type": "New Customer"},
        {"Id": SF_RENEWAL, "Name": "Globex renewal", "AccountId": SF_GLOBEX, "OwnerId": SF_BEN,
         "StageName": "Closed Won", "Amount": 5099.99, "CurrencyIsoCode": "GBP",
         "CloseDate": "2026-06-01", "CreatedDate": "2026-04-01T08:00:00.000+0000",
         "LastModifiedDate": "2026-06-01T08:00:00.000+0000",
         "SystemModstamp": "2026-06-01T08:00:00.000+0000", "Type": "Renewal"},
        {"Id": SF_LOST, "Name": "Acme expansion", "AccountId": SF_ACME, "OwnerId": SF_ANN,
         "StageName": "Closed Lost", "Amount": 300, "CurrencyIsoCode": "USD",
         "CloseDate": "2026-03-15", "CreatedDate": "2026-03-01T08:00:00.000+0000",
         "LastModifiedDate": "2026-03-15T08:00:00.000+0000",
         "SystemModstamp": "2026-03-15T08:00:00.000+0000", "Type": "New Customer"},
        {"Id": SF_DELETED, "Name": "Deleted deal", "OwnerId": SF_ANN, "StageName": "Prospecting",
         "Amount": 10, "CurrencyIsoCode": "USD", "CloseDate": "2026-01-31",
         "CreatedDate": "2025-12-01T00:00:00.000+0000", "IsDeleted": True},
        {"Id": SF_NO_HISTORY, "Name": "Initech deal", "AccountId": SF_GLOBEX, "OwnerId": SF_BEN,
         "StageName": "Closed Won", "Amount": 1000, "CurrencyIsoCode": "USD",
         "CloseDate": "2026-04-15", "CreatedDate": "2026-02-01T00:00:00.000+0000",
         "LastModifiedDate": "2026-04-15T12:00:00.000+0000",
         "SystemModstamp": "2026-04-15T12:00:00.000+0000", "Type": "New Customer"},
    ],
    "opportunity_history": [
        {"OpportunityId": SF_OPEN, "StageName": "Prospecting",
         "CreatedDate": "2026-05-01T09:00:00.000+0000"},
        {"OpportunityId": SF_OPEN, "StageName": "Needs Analysis",
         "CreatedDate": "2026-05-10T12:30:00.000+0000"},
        {"OpportunityId": SF_RENEWAL, "StageName": "Prospecting",
         "CreatedDate": "2026-04-01T08:00:00.000+0000"},
        {"OpportunityId": SF_RENEWAL, "StageName": "Negotiation/Review",
         "CreatedDate": "2026-05-01T08:00:00.000+0000"},
        {"OpportunityId": SF_RENEWAL, "StageName": "Closed Won",
         "CreatedDate": "2026-06-01T08:00:00.000+0000"},
        {"OpportunityId": SF_LOST, "StageName": "Prospecting",
         "CreatedDate": "2026-03-01T08:00:00.000+0000"},
        {"OpportunityId": SF_LOST, "StageName": "Proposal/Price Quote",
         "CreatedDate": "2026-03-05T08:00:00.000+0000"},
        {"OpportunityId": SF_LOST, "StageName": "Closed Lost",
         "CreatedDate": "2026-03-15T08:00:00.000+0000"},
        {"OpportunityId": SF_DELETED, "StageName": "Prospecting",
         "CreatedDate": "2025-12-01T00:00:00.000+0000"},
    ],
}  # fmt: skip

HUBSPOT_WORLD: dict[str, Any] = {
    "owners": [
        {"id": "101", "email": "Ann.Lee@Example.com", "firstName": "Ann", "lastName": "Lee"},
        {"id": "102", "email": "ben@example.com", "firstName": "Ben", "lastName": "Okafor"},
    ],
    "companies": [
        {"id": "501", "properties": {"name": "Acme", "industry": "RETAIL", "country": "Germany"}},
        {"id": "502", "properties": {"name": "Globex", "industry": "FINANCIAL_SERVICES"}},
    ],
    "deals": [
        {"id": "9001", "companies": ["501"],
         "properties": {"dealname": "Acme pilot", "amount": "1200", "dealstage": "qualifiedtobuy",
                        "closedate": "2026-07-31T00:00:00Z", "createdate": "2026-05-01T09:00:00Z",
                        "hs_lastmodifieddate": "2026-05-20T10:00:00Z", "hubspot_owner_id": "101",
                        "deal_currency_code": "USD", "dealtype": "newbusiness"},
         "stage_history": [
             {"value": "appointmentscheduled", "timestamp": "2026-05-01T09:00:00Z"},
             {"value": "qualifiedtobuy", "timestamp": "2026-05-10T12:30:00Z"}]},
        {"id": "9002", "companies": ["502"],
         "properties": {"dealname": "Globex renewal", "amount": "5099.99",
                        "dealstage": "closedwon", "createdate": "2026-04-01T08:00:00Z",
                        "closedate": "2026-06-01T00:00:00Z",
                        "hs_lastmodifieddate": "2026-06-01T08:00:00Z", "hubspot_owner_id": "102",
                        "deal_currency_code": "GBP", "dealtype": "existingbusiness"},
         "stage_history": [
             {"value": "appointmentscheduled", "timestamp": "2026-04-01T08:00:00Z"},
             {"value": "contractsent", "timestamp": "2026-05-01T08:00:00Z"},
             {"value": "closedwon", "timestamp": "2026-06-01T08:00:00Z"}]},
        {"id": "9003",
         "properties": {"dealname": "Acme expansion", "amount": "300.10",
                        "dealstage": "closedlost", "createdate": "2026-03-01T08:00:00Z",
                        "closedate": "2026-03-15T00:00:00Z",
                        "hs_lastmodifieddate": "2026-03-15T08:00:00Z", "hubspot_owner_id": "101",
                        "deal_currency_code": "USD", "dealtype": "newbusiness"},
         "stage_history": [
             {"value": "appointmentscheduled", "timestamp": "2026-03-01T08:00:00Z"},
             {"value": "presentationscheduled", "timestamp": "2026-03-05T08:00:00Z"},
             {"value": "closedlost", "timestamp": "2026-03-15T08:00:00Z"}]},
        {"id": "9004", "archived": True,
         "properties": {"dealname": "Old deal", "dealstage": "appointmentscheduled",
                        "createdate": "2025-01-01T00:00:00Z", "hubspot_owner_id": "102"}},
        {"id": "9005",
         "properties": {"dealname": "Yen deal", "amount": "150000",
                        "dealstage": "presentationscheduled", "createdate": "2026-05-02T00:00:00Z",
                        "hs_lastmodifieddate": "2026-05-25T00:00:00Z",
                        "deal_currency_code": "JPY", "hs_forecast_probability": "0.35"}},
    ],
}  # fmt: skip

# Configured rates: one GBP is 1.25 USD (takes precedence over Salesforce's CurrencyType).
BASE_CONFIG: dict[str, Any] = {"reporting_currency": "USD", "rates": {"GBP": "1.25"}}


@pytest.fixture
def world() -> Callable[..., dict[str, Any]]:
    """Factory: `world(salesforce=True, hubspot=True)` -> a fresh copy of the fixture world
    (tests may change it before starting a sandbox)."""

    def build(*, salesforce: bool = True, hubspot: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if salesforce:
            out["salesforce"] = copy.deepcopy(SALESFORCE_WORLD)
        if hubspot:
            out["hubspot"] = copy.deepcopy(HUBSPOT_WORLD)
        return out

    return build


# ---------------------------------------------------------------------------- time zone
@pytest.fixture(autouse=True)
def local_time_zone() -> Iterator[None]:
    """Every e2e test runs under a non-UTC local time zone, to prove timestamps stay UTC."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = LOCAL_TZ
    time.tzset()
    yield
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


# ---------------------------------------------------------------------------- warehouses


@pytest.fixture
def warehouse_url(warehouse_url_factory: Callable[[str], str]) -> Callable[[str], str]:
    """Makes URLs of empty warehouses per backend (the root conftest's factory)."""
    return warehouse_url_factory


# ---------------------------------------------------------------------------- sandboxes
@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., SandboxServer]]:
    """Factory: `make_sandbox(fixture=..., faults=..., apis=...)` -> a started sandbox."""
    servers: list[SandboxServer] = []

    def start(**kwargs: Any) -> SandboxServer:
        kwargs.setdefault("hold_seconds", 3.0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            servers.append(SandboxServer(**kwargs).start())
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


# ---------------------------------------------------------------------------- the harness
def content(row: Mapping[str, Any], table: sa.Table) -> dict[str, Any]:
    """A row without its bookkeeping columns (synced_at and the like)."""
    return {
        name: value
        for name, value in row.items()
        if name in table.c and not table.c[name].info.get("bookkeeping")
    }


@dataclass
class SyncHarness:
    """One sandbox and one warehouse, and the sync between them."""

    server: SandboxServer
    url: str
    engine: sa.Engine
    config_data: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(BASE_CONFIG))

    def env(self, **changes: str | None) -> dict[str, str]:
        """The sandbox's environment; a change of None removes the variable."""
        env = self.server.env()
        for name, value in changes.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    @property
    def config(self) -> AppConfig:
        """The configuration: BASE_CONFIG plus the test's changes, with fast retries."""
        data = copy.deepcopy(self.config_data)
        sources = data.setdefault("sources", {})
        if not sources:
            sources.update(
                {name: {"type": name} for name in self.server.apis}  # both CRMs by default
            )
        for source in sources.values():
            fast = FAST_SALESFORCE if source["type"] == "salesforce" else FAST_HUBSPOT
            source["options"] = {**fast, **source.get("options", {})}
        return parse_config(data)

    def sync(self, *, full: bool = False, env: Mapping[str, str] | None = None) -> SyncOutcome:
        """One run of the nightly job, as the CLI runs it."""
        env = dict(env) if env is not None else self.env()
        config = self.config
        return run_sync(
            engine=self.engine,
            sources=configured_sources(config, env),
            app_config=config,
            env=env,
            full=full,
        )

    def rows(self, table: sa.Table, *where: Any) -> list[dict[str, Any]]:
        """Every row of `table` (matching `where`), as dicts."""
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.select(table).where(*where))]

    def deals(self) -> dict[str, dict[str, Any]]:
        """deal_key -> the deal's content (no bookkeeping)."""
        return {row["deal_key"]: content(row, deals) for row in self.rows(deals)}

    def stays(self, deal_key: str | None = None) -> list[dict[str, Any]]:
        """Stays (no bookkeeping), by deal and entry time."""
        where = [] if deal_key is None else [deal_stage_history.c.deal_key == deal_key]
        rows = [content(row, deal_stage_history) for row in self.rows(deal_stage_history, *where)]
        return sorted(rows, key=lambda row: (row["deal_key"], row["entered_at"]))

    def runs(self, source: str) -> list[dict[str, Any]]:
        """sync_runs rows of a source, oldest first."""
        rows = self.rows(sync_runs, sync_runs.c.source == source)
        return sorted(rows, key=lambda row: row["started_at"])

    def quarantine(self, source: str) -> dict[str, dict[str, Any]]:
        """source_id -> quarantine row of a source."""
        return {
            row["source_id"]: row for row in self.rows(quarantine, quarantine.c.source == source)
        }


@pytest.fixture
def crm() -> Any:
    """`crm.salesforce(server)` and `crm.hubspot(server)`: the real clients on a sandbox."""

    class Clients:
        salesforce = staticmethod(salesforce_client)
        hubspot = staticmethod(hubspot_client)

    return Clients


@pytest.fixture
def harness(
    make_sandbox: Callable[..., SandboxServer], warehouse_url: Callable[[str], str]
) -> Iterator[Callable[..., SyncHarness]]:
    """Factory: `harness(backend, fixture=..., **sandbox kwargs)` -> a SyncHarness."""
    engines: list[sa.Engine] = []

    def build(backend: str, server: SandboxServer | None = None, **sandbox: Any) -> SyncHarness:
        server = server or make_sandbox(**sandbox)
        url = warehouse_url(backend)
        engine = open_warehouse(url)
        engines.append(engine)
        return SyncHarness(server=server, url=url, engine=engine)

    yield build
    for engine in engines:
        engine.dispose()


# ---------------------------------------------------------------------------- CRM clients
def salesforce_client(server: SandboxServer) -> Salesforce:
    """simple-salesforce on the sandbox org, with its direct token (what a user's script uses)."""
    session = requests.Session()
    session.verify = server.ca_bundle
    session.trust_env = False
    env = server.env()
    return Salesforce(
        instance_url=env["SALESFORCE_INSTANCE_URL"],
        session_id=env["SALESFORCE_ACCESS_TOKEN"],
        session=session,
        version="59.0",
    )


def hubspot_client(server: SandboxServer) -> HubSpot:
    """hubspot-api-client on the sandbox portal."""
    return HubSpot(
        access_token=server.env()["HUBSPOT_ACCESS_TOKEN"],
        host=server.url,
        ssl_ca_cert=server.ca_bundle,
    )
