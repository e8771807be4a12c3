"""End-to-end: the Salesforce connector with the real simple-salesforce against the sandbox.

Every test talks HTTPS to `connectors.sandbox.server.SandboxServer` (fixture `salesforce_sandbox`
in conftest.py). Expected values are computed by hand from the small fixture below.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from connectors.base import FlagUpdate, QuotaExhausted, TruncatedResponse
from connectors.retrying import RetrySettings
from connectors.salesforce import SalesforceConnector, SalesforceSettings
from connectors.salesforce_calls import SalesforceSessionExpired

pytestmark = pytest.mark.e2e

FAST_RETRY = RetrySettings(attempts=4, initial_wait=0.01, max_wait=0.05)
T0 = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
FLAG_FIELDS = [
    {"name": "Pipeline_Stale__c", "type": "boolean"},
    {"name": "Pipeline_Stale_Reason__c", "type": "string"},
    {"name": "Pipeline_Stale_Since__c", "type": "date"},
]


def _ids(prefix: str, count: int, start: int = 1) -> list[str]:
    from connectors.sandbox.salesforce.ids import make_ids

    return make_ids(prefix, start, count)


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _opportunity(
    record_id: str, *, stamp: datetime, stage: str = "Prospecting", **extra: Any
) -> dict[str, Any]:
    return {
        "Id": record_id,
        "Name": f"Deal {record_id[-6:]}",
        "AccountId": ACCOUNTS[0],
        "OwnerId": USERS[0],
        "StageName": stage,
        "Amount": 1200.5,
        "CloseDate": "2026-07-31",
        "CreatedDate": _stamp(T0 - timedelta(days=30)),
        "LastModifiedDate": _stamp(stamp),
        "SystemModstamp": _stamp(stamp),
        "LeadSource": "Web",
        "Type": "New Customer",
        "IsDeleted": False,
        **extra,
    }


USERS = _ids("005", 2)
ACCOUNTS = _ids("001", 2)
SMALL_IDS = _ids("006", 6)
# Deal 0 is 30 s before T0; deals 1 and 2 share the second T0; 3 is later; 4 is deleted at T0+5s;
# 5 is an hour earlier.
SMALL_STAMPS = [
    T0 - timedelta(seconds=30),
    T0,
    T0,
    T0 + timedelta(seconds=10),
    T0 + timedelta(seconds=5),
    T0 - timedelta(hours=1),
]


def _small_fixture(*, multi_currency: bool = True) -> dict[str, Any]:
    opportunities = []
    for index, (record_id, stamp) in enumerate(zip(SMALL_IDS, SMALL_STAMPS, strict=True)):
        extra: dict[str, Any] = {"IsDeleted": index == 4}
        if multi_currency:
            extra["CurrencyIsoCode"] = "EUR" if index % 2 else "USD"
        stage = "Qualification" if index == 1 else "Prospecting"
        opportunities.append(_opportunity(record_id, stamp=stamp, stage=stage, **extra))
    history = [
        # deal 1: Prospecting, then an amount-only change, then Qualification
        {"Id": hid, "OpportunityId": SMALL_IDS[1], "StageName": stage, "Amount": 1200.5,
         "Probability": 10, "CloseDate": "2026-07-31", "CreatedDate": _stamp(at)}
        for hid, stage, at in zip(
            _ids("008", 3),
            ["Prospecting", "Prospecting", "Qualification"],
            [T0 - timedelta(days=30), T0 - timedelta(days=20), T0 - timedelta(days=10)],
            strict=True,
        )
    ]  # fmt: skip
    section: dict[str, Any] = {
        "multi_currency": multi_currency,
        "users": [
            {"Id": USERS[0], "Name": "Ann Lee", "Email": "ann@example.com", "IsActive": True},
            {"Id": USERS[1], "Name": "Bo Chen", "Email": "bo@example.com", "IsActive": False},
        ],
        "accounts": [
            {"Id": ACCOUNTS[0], "Name": "Acme", "Industry": "Energy", "BillingCountry": "DE"},
            {"Id": ACCOUNTS[1], "Name": "Globex", "Industry": None, "BillingCountry": "US"},
        ],
        "opportunity_custom_fields": FLAG_FIELDS,
        "opportunities": opportunities,
        "opportunity_history": history,
    }
    if multi_currency:
        section["currency_types"] = [
            {"IsoCode": "USD", "ConversionRate": 1.0, "IsCorporate": True},
            {"IsoCode": "EUR", "ConversionRate": 0.8, "IsCorporate": False},
        ]
    return {"salesforce": section}


def _paging_fixture(count: int, deleted: int) -> dict[str, Any]:
    ids = _ids("006", count, start=1000)
    opportunities = [
        _opportunity(
            record_id,
            stamp=T0 + timedelta(seconds=index // 3),  # three deals per second
            IsDeleted=index < deleted,
            CurrencyIsoCode="USD",
        )
        for index, record_id in enumerate(ids)
    ]
    section = _small_fixture()["salesforce"] | {
        "opportunities": opportunities,
        "opportunity_history": [],
    }
    return {"salesforce": section}


def _connector(server: Any, *, flow: str = "direct", **overrides: Any) -> SalesforceConnector:
    env = server.env()
    keep = {
        "direct": ("SALESFORCE_INSTANCE_URL", "SALESFORCE_ACCESS_TOKEN"),
        "client_credentials": (
            "SALESFORCE_CLIENT_ID",
            "SALESFORCE_CLIENT_SECRET",
            "SALESFORCE_DOMAIN",
            "SALESFORCE_LOGIN_URL",
        ),
        "jwt_bearer": ("SALESFORCE_USERNAME", "SALESFORCE_CLIENT_ID", "SALESFORCE_LOGIN_URL"),
        "soap": (
            "SALESFORCE_USERNAME",
            "SALESFORCE_PASSWORD",
            "SALESFORCE_SECURITY_TOKEN",
            "SALESFORCE_LOGIN_URL",
        ),
    }[flow]
    chosen = {name: env[name] for name in keep if name in env}
    chosen["PIPELINES_ETL_CA_BUNDLE"] = env["PIPELINES_ETL_CA_BUNDLE"]
    if flow == "jwt_bearer":
        chosen["SALESFORCE_PRIVATE_KEY_FILE"] = str(overrides.pop("private_key_file"))
    overrides.setdefault("retry", FAST_RETRY)
    overrides.setdefault("bulk_threshold", None)
    overrides.setdefault("bulk_poll_seconds", 0.05)
    settings = SalesforceSettings.from_env(chosen, **overrides)
    assert settings.auth_flow == flow
    return SalesforceConnector(settings, source="sf_test")


def _next_request(server: Any, offset: int = 1) -> int:
    return server.faults.requests + offset


@pytest.fixture(scope="module")
def small_server(salesforce_sandbox_class: Any) -> Any:
    server = salesforce_sandbox_class(
        fixture=_small_fixture(), apis=["salesforce"], hold_seconds=5.0
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def small(small_server: Any) -> Any:
    """The shared read-only sandbox, faults cleared after each test."""
    yield small_server
    small_server.set_faults(None)


# ------------------------------------------------------------------------------ auth


@pytest.fixture(scope="module")
def private_key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An RSA key for the JWT bearer flow (the sandbox checks claims, not this signature)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path_factory.mktemp("jwt") / "server.key"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


@pytest.mark.parametrize(
    ("flow", "calls"),
    [("direct", 1), ("client_credentials", 2), ("jwt_bearer", 2), ("soap", 2)],
)
def test_each_login_flow_reads_owners(
    small: Any, private_key_file: Path, flow: str, calls: int
) -> None:
    extra = {"private_key_file": private_key_file} if flow == "jwt_bearer" else {}
    connector = _connector(small, flow=flow, **extra)
    owners = connector.owners().sort_values("owner_id").to_dict("records")
    assert owners == [
        {"owner_id": USERS[0], "name": "Ann Lee", "email": "ann@example.com", "is_active": True},
        {"owner_id": USERS[1], "name": "Bo Chen", "email": "bo@example.com", "is_active": False},
    ]
    assert connector.api_calls == calls  # the login (if any) and one query page


def test_bad_token_fails_clearly_without_leaking_it(small: Any) -> None:
    connector = _connector(small, flow="direct")
    settings = connector.settings.model_copy(update={"access_token": SecretStr("00Dbogus!s3cr3t")})
    with pytest.raises(SalesforceSessionExpired, match="SALESFORCE_ACCESS_TOKEN") as info:
        SalesforceConnector(settings).owners()
    assert "s3cr3t" not in str(info.value)


# ------------------------------------------------------------------------------ catalogs


def test_stages_catalog(small: Any) -> None:
    stages = _connector(small).stages()
    default = stages[stages["pipeline"] == "default"].set_index("stage_id")
    assert len(default) == 10
    assert default.loc["Prospecting", ["probability", "display_order", "is_closed"]].tolist() == [
        "0.1",
        1,
        False,
    ]
    assert default.loc["Closed Won", ["probability", "is_closed", "is_won"]].tolist() == [
        "1",
        True,
        True,
    ]
    assert default.loc["Closed Lost", ["probability", "is_closed", "is_won"]].tolist() == [
        "0",
        True,
        False,
    ]
    assert default.loc["Proposal/Price Quote", "probability"] == "0.75"


def test_accounts_and_rates(small: Any) -> None:
    connector = _connector(small)
    accounts = [row for frame in connector.accounts() for row in frame.to_dict("records")]
    assert sorted(accounts, key=lambda r: r["account_id"]) == [
        {"account_id": ACCOUNTS[0], "name": "Acme", "industry": "Energy", "country": "DE"},
        {"account_id": ACCOUNTS[1], "name": "Globex", "industry": None, "country": "US"},
    ]
    rates = connector.currency_rates()
    current = rates[rates["start_date"].isna()].set_index("currency")
    assert current.loc["USD", "is_corporate"] is True or current.loc["USD", "is_corporate"]
    assert current.loc["EUR", "rate"] in {"0.8", "0.80"}
    assert not bool(current.loc["EUR", "is_corporate"])


# ------------------------------------------------------------------------------ deals


def _all_pages(connector: SalesforceConnector, cursor: str | None = None) -> list[Any]:
    return list(connector.deals_since(cursor))


def test_full_extract_includes_deleted_and_history(small: Any) -> None:
    connector = _connector(small)
    pages = _all_pages(connector)
    deals = connector.flatten_deals([d for p in pages for d in p.deals]).set_index("source_id")
    # The extract's cheap id-and-stamp read agrees with the full flatten.
    assert connector.deal_stamps([d for p in pages for d in p.deals]) == list(
        zip(deals.index, deals["last_modified_at"], strict=True)
    )
    assert all(stamp for _, stamp in connector.deal_stamps([d for p in pages for d in p.deals]))
    assert sorted(deals.index) == sorted(SMALL_IDS)
    assert deals.loc[SMALL_IDS[4], "is_deleted"] is True
    assert deals.loc[SMALL_IDS[0], "is_deleted"] is False
    assert deals.loc[SMALL_IDS[1], "amount"] == "1200.5"
    assert deals.loc[SMALL_IDS[1], "currency"] == "EUR"
    assert deals.loc[SMALL_IDS[1], "source_stage"] == "Qualification"
    assert deals.loc[SMALL_IDS[0], "probability"] == "0.1"
    assert deals.loc[SMALL_IDS[0], "flag_stale"] in {False, None}
    # the cursor is at the latest (SystemModstamp, Id): deal 3
    assert pages[-1].cursor == f"2026-05-01T12:00:10.000Z|{SMALL_IDS[3]}"
    history = connector.flatten_history([h for p in pages for h in p.history])
    expected = [
        ("Prospecting", "2026-04-01T12:00:00.000+0000"),
        ("Qualification", "2026-04-21T12:00:00.000+0000"),
    ]
    mine = history[history["source_id"] == SMALL_IDS[1]]
    assert list(zip(mine["source_stage"], mine["changed_at"], strict=True)) == expected
    ids = [i for page in connector.deal_ids() for i in page]
    assert sorted(ids) == sorted(set(SMALL_IDS) - {SMALL_IDS[4]})


@pytest.mark.parametrize(
    ("overlap", "expected"),
    [
        # cursor at deal 1 (T0); deal 2 shares that second and must come back, as must 1 itself
        (0, {1, 2, 3, 4}),
        (60, {0, 1, 2, 3, 4}),  # the overlap reaches deal 0 at T0-30s, not deal 5 at T0-1h
    ],
)
def test_incremental_is_inclusive_with_overlap(
    small: Any, overlap: int, expected: set[int]
) -> None:
    connector = _connector(small, overlap_seconds=overlap)
    cursor = f"2026-05-01T12:00:00.000Z|{SMALL_IDS[1]}"
    pages = _all_pages(connector, cursor)
    got = {d["Id"] for p in pages for d in p.deals}
    assert got == {SMALL_IDS[i] for i in expected}
    assert pages[-1].cursor == f"2026-05-01T12:00:10.000Z|{SMALL_IDS[3]}"


def test_incremental_with_nothing_new_keeps_cursor(small: Any) -> None:
    connector = _connector(small, overlap_seconds=0)
    assert _all_pages(connector, "2026-06-01T00:00:00.000Z|006") == []


def test_paging_returns_every_deal_once(salesforce_sandbox: Callable[..., Any]) -> None:
    server = salesforce_sandbox(fixture=_paging_fixture(450, deleted=5))
    connector = _connector(server, page_size=200)
    pages = _all_pages(connector)
    assert [len(p.deals) for p in pages] == [200, 200, 50]
    ids = [d["Id"] for p in pages for d in p.deals]
    assert len(ids) == len(set(ids)) == 450
    # every page's cursor is committable: the last record's (SystemModstamp, Id), increasing
    cursors = [p.cursor for p in pages]
    assert cursors == sorted(cursors) and all(cursors)
    assert sum(1 for p in pages for d in p.deals if d["IsDeleted"]) == 5
    assert sum(len(page) for page in connector.deal_ids()) == 445
    # describe, 3 extract pages, 3 history reads (one IN chunk per page); the ids the full
    # extract saw serve the reconciliation's id list with no call
    assert connector.api_calls == 1 + 3 + 3
    # ... once: the next id list is queried (1 page of 445 ids)
    assert sum(len(page) for page in connector.deal_ids()) == 445
    assert connector.api_calls == 1 + 3 + 3 + 1


def test_bulk_matches_rest(salesforce_sandbox: Callable[..., Any]) -> None:
    server = salesforce_sandbox(fixture=_paging_fixture(120, deleted=3))
    rest = _connector(server)
    bulk = _connector(server, bulk_threshold=0, bulk_page_size=50)
    rest_pages = _all_pages(rest)
    bulk_pages = _all_pages(bulk)
    assert len(bulk_pages) >= 3
    assert [p.cursor for p in bulk_pages[:-1]] == [None] * (len(bulk_pages) - 1)
    assert bulk_pages[-1].cursor == rest_pages[-1].cursor
    columns = ["source_id", "amount", "probability", "is_deleted", "close_date", "last_modified_at"]

    def frame(pages: list[Any], connector: SalesforceConnector) -> list[dict[str, Any]]:
        flat = connector.flatten_deals([d for p in pages for d in p.deals])
        return flat.sort_values("source_id")[columns].to_dict("records")

    assert frame(bulk_pages, bulk) == frame(rest_pages, rest)


def test_single_currency_org(salesforce_sandbox: Callable[..., Any]) -> None:
    server = salesforce_sandbox(fixture=_small_fixture(multi_currency=False))
    connector = _connector(server)
    deals = connector.flatten_deals([d for p in _all_pages(connector) for d in p.deals])
    assert len(deals) == 6 and deals["currency"].isna().all()
    assert connector.currency_rates().empty
    bulk = _connector(server, bulk_threshold=0)
    assert len([d for p in _all_pages(bulk) for d in p.deals]) == 6


# ------------------------------------------------------------------------------ faults


@pytest.mark.parametrize("fault", ["500", "502", "503", "429", "reset", "timeout"])
def test_transient_faults_are_retried(small: Any, fault: str) -> None:
    connector = _connector(small, timeout=0.5)
    small.set_faults(f"{fault}@{_next_request(small)}")
    before = small.fault_counts.get(fault, 0)
    assert len(connector.owners()) == 2
    assert small.fault_counts.get(fault, 0) == before + 1
    assert connector.api_calls == 2  # the faulted request and its retry


def test_daily_quota_stops_without_retry(salesforce_sandbox: Callable[..., Any]) -> None:
    small = salesforce_sandbox(fixture=_small_fixture())
    connector = _connector(small)
    small.set_faults(f"quota@{_next_request(small)}")
    with pytest.raises(QuotaExhausted, match="daily API request limit"):
        connector.owners()
    assert connector.api_calls == 1
    small.set_faults(None)
    with pytest.raises(QuotaExhausted):  # the guard stays shut for this connector
        connector.owners()
    assert connector.api_calls == 1


def test_quota_share_from_usage_header(small: Any) -> None:
    connector = _connector(small, max_quota_share=1e-9)
    assert len(connector.owners()) == 2  # this page is delivered ...
    with pytest.raises(QuotaExhausted, match="max_quota_share"):
        connector.owners()  # ... and the next call is refused before it is sent
    assert connector.api_calls == 1


def test_truncated_body_fails_the_run(small: Any) -> None:
    connector = _connector(small)
    small.set_faults(f"truncate@{_next_request(small)}")
    with pytest.raises(TruncatedResponse):
        connector.owners()
    assert connector.api_calls == 1


@pytest.mark.parametrize(
    ("page", "position"),
    # After describe: the COUNT, the deal job's create and two polls (the sandbox moves a job
    # one state per poll), the history job's create (it runs while the deals download), the
    # deal job's one results page, then the history job's two polls and its one results page.
    [("deals", 6), ("history", 9)],
)
def test_truncated_bulk_page_fails_the_run(small: Any, page: str, position: int) -> None:
    dry = _connector(small, bulk_threshold=0)
    dry.schema()
    start = small.faults.requests
    assert len([d for p in _all_pages(dry) for d in p.deals]) == 6
    assert small.faults.requests - start == 9
    connector = _connector(small, bulk_threshold=0)
    connector.schema()
    small.set_faults(f"truncate@{_next_request(small, position)}")
    with pytest.raises(TruncatedResponse, match="Bulk API page"):
        _all_pages(connector)
    assert small.fault_counts.get("truncate", 0) >= 1


def test_expired_session_relogs_in_with_client_credentials(
    salesforce_sandbox: Callable[..., Any],
) -> None:
    small = salesforce_sandbox(fixture=_small_fixture())  # an expired token stays dead
    connector = _connector(small, flow="client_credentials")
    connector.schema()  # logged in
    small.set_faults(f"expire@{_next_request(small)}")
    assert len(connector.owners()) == 2
    assert small.fault_counts.get("expire", 0) >= 1
    # login + describe, then: 401, re-login, the query again
    assert connector.api_calls == 2 + 3


def test_expired_session_during_bulk_relogs_in(salesforce_sandbox: Callable[..., Any]) -> None:
    small = salesforce_sandbox(fixture=_small_fixture())  # an expired token stays dead
    connector = _connector(small, flow="client_credentials", bulk_threshold=0)
    connector.schema()
    small.set_faults(f"expire@{_next_request(small, 2)}")  # the job create, after the COUNT
    deals = [d for p in _all_pages(connector) for d in p.deals]
    assert sorted(d["Id"] for d in deals) == sorted(SMALL_IDS)
    assert small.fault_counts.get("expire") == 1


def test_expired_direct_token_fails_clearly(salesforce_sandbox: Callable[..., Any]) -> None:
    small = salesforce_sandbox(fixture=_small_fixture())  # an expired token stays dead
    connector = _connector(small, flow="direct")
    small.set_faults(f"expire@{_next_request(small)}")
    with pytest.raises(SalesforceSessionExpired) as info:
        connector.owners()
    message = str(info.value)
    assert "SALESFORCE_ACCESS_TOKEN" in message and "SALESFORCE_CLIENT_ID" in message
    assert small.env()["SALESFORCE_ACCESS_TOKEN"] not in message


# ------------------------------------------------------------------------------ writes


def test_push_flags_collections(salesforce_sandbox: Callable[..., Any]) -> None:
    server = salesforce_sandbox(fixture=_small_fixture())
    connector = _connector(server, overlap_seconds=0)
    first = _all_pages(connector)
    results = connector.push_flags(
        [
            FlagUpdate(SMALL_IDS[0], {"flagged": True, "reason": "stuck", "since": "2026-05-02"}),
            FlagUpdate(SMALL_IDS[4], {"flagged": True}),  # deleted
            FlagUpdate(SMALL_IDS[3], {"Pipeline_Stale_Reason__c": "only the reason"}),
        ]
    )
    assert [(r.source_id, r.success) for r in results] == [
        (SMALL_IDS[0], True),
        (SMALL_IDS[4], False),
        (SMALL_IDS[3], True),
    ]
    assert results[1].retriable is False and "ENTITY_IS_DELETED" in (results[1].error or "")
    written = {(e.record_id, e.field) for e in server.write_log.entries("salesforce")}
    assert written == {
        (SMALL_IDS[0], "Pipeline_Stale__c"),
        (SMALL_IDS[0], "Pipeline_Stale_Reason__c"),
        (SMALL_IDS[0], "Pipeline_Stale_Since__c"),
        (SMALL_IDS[3], "Pipeline_Stale_Reason__c"),
    }
    reread = {d["Id"]: d for d in connector.read_deals([SMALL_IDS[0], SMALL_IDS[3], SMALL_IDS[4]])}
    assert set(reread) == {SMALL_IDS[0], SMALL_IDS[3]}
    assert reread[SMALL_IDS[0]]["Pipeline_Stale__c"] is True
    assert reread[SMALL_IDS[0]]["Pipeline_Stale_Since__c"] == "2026-05-02"
    # the writes moved SystemModstamp: the next increment picks both deals up
    again = {d["Id"] for p in _all_pages(connector, first[-1].cursor) for d in p.deals}
    assert {SMALL_IDS[0], SMALL_IDS[3]} <= again


def test_push_flags_bulk_ingest(salesforce_sandbox: Callable[..., Any]) -> None:
    server = salesforce_sandbox(fixture=_small_fixture())
    connector = _connector(server, bulk_write_threshold=1)
    results = connector.push_flags(
        [
            FlagUpdate(SMALL_IDS[0], {"flagged": True, "reason": "stuck"}),
            FlagUpdate(SMALL_IDS[2], {"flagged": False, "reason": None}),
        ]
    )
    assert [r.success for r in results] == [True, True]
    reread = {d["Id"]: d for d in connector.read_deals([SMALL_IDS[0], SMALL_IDS[2]])}
    assert reread[SMALL_IDS[0]]["Pipeline_Stale_Reason__c"] == "stuck"
    assert reread[SMALL_IDS[2]]["Pipeline_Stale__c"] is False
    assert reread[SMALL_IDS[2]]["Pipeline_Stale_Reason__c"] is None


@pytest.mark.parametrize("bulk_threshold", [None, 0])
def test_extract_under_random_faults_loses_nothing(
    salesforce_sandbox: Callable[..., Any], bulk_threshold: int | None
) -> None:
    server = salesforce_sandbox(fixture=_paging_fixture(450, deleted=5), seed=7, hold_seconds=2.0)
    server.set_faults("500=0.1,503=0.05,reset=0.05,429=0.05,timeout=0.03,expire=0.03")
    connector = _connector(
        server,
        flow="client_credentials",
        timeout=0.5,
        page_size=200,
        bulk_threshold=bulk_threshold,
        bulk_page_size=150,
        retry=RetrySettings(attempts=8, initial_wait=0.01, max_wait=0.05),
    )
    ids = [d["Id"] for p in _all_pages(connector) for d in p.deals]
    assert len(ids) == len(set(ids)) == 450
    assert sum(server.fault_counts.values()) > 0


def test_full_bulk_load_reads_history_through_one_job(small: Any) -> None:
    rest = _connector(small)
    bulk = _connector(small, bulk_threshold=0)
    rest_pages = _all_pages(rest)
    bulk.schema()
    before = bulk.api_calls
    bulk_pages = _all_pages(bulk)
    # COUNT; deal job create, 2 polls, 1 page; history job create, 2 polls, 1 page
    assert bulk.api_calls - before == 1 + 4 + 4
    history_pages = [p for p in bulk_pages if p.history]
    assert history_pages and all(p.deals == [] for p in history_pages)
    assert [p.cursor for p in bulk_pages[:-1]] == [None] * (len(bulk_pages) - 1)
    assert bulk_pages[-1].cursor == rest_pages[-1].cursor
    # The raw history rows are the REST ones, attributes and key order included.
    rest_rows = sorted((h for p in rest_pages for h in p.history), key=lambda h: h["Id"])
    bulk_rows = sorted((h for p in bulk_pages for h in p.history), key=lambda h: h["Id"])
    assert [list(h) for h in bulk_rows] == [list(h) for h in rest_rows]
    assert bulk_rows == rest_rows
    assert [h["OpportunityId"] for h in bulk_rows] == [SMALL_IDS[1]] * 3
