"""Salesforce sandbox Bulk API 2.0: query and queryAll jobs (complete, unordered CSV pages with
locators) and update ingest jobs (results, failures, abort), through simple-salesforce."""

from __future__ import annotations

import copy
import csv
import io
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceOperationError

from connectors.sandbox.server import SandboxServer

WORLD: dict[str, Any] = json.loads((Path(__file__).parent / "salesforce_world.json").read_text())
ACME_PILOT, GLOBEX, EXPANSION, DELETED = (f"006Aa000000000{i}IAA" for i in range(1, 5))
BASE = "/services/data/v59.0/jobs"


def session_for(server: SandboxServer) -> requests.Session:
    session = requests.Session()
    session.verify = server.ca_bundle
    session.trust_env = False
    return session


def client(server: SandboxServer) -> Salesforce:
    env = server.env()
    return Salesforce(
        instance_url=env["SALESFORCE_INSTANCE_URL"],
        session_id=env["SALESFORCE_ACCESS_TOKEN"],
        session=session_for(server),
    )


def rows_of(pages: list[str]) -> tuple[list[list[str]], list[dict[str, str]]]:
    """Headers of each page, and every row as a dict."""
    headers, rows = [], []
    for page in pages:
        reader = csv.DictReader(io.StringIO(page))
        rows.extend(reader)
        headers.append(list(reader.fieldnames or []))
    return headers, rows


@pytest.fixture(scope="module")
def generated() -> Iterator[SandboxServer]:
    srv = SandboxServer(deals=2500, seed=4, apis=("salesforce",)).start()
    yield srv
    srv.stop()


@pytest.fixture
def world() -> Iterator[SandboxServer]:
    srv = SandboxServer(fixture={"salesforce": copy.deepcopy(WORLD)}, apis=("salesforce",)).start()
    yield srv
    srv.stop()


def test_bulk_query_is_complete_and_unordered(generated: SandboxServer) -> None:
    sf = client(generated)
    soql = (
        "SELECT Id, Name, Amount, IsWon, CloseDate, LastModifiedDate FROM Opportunity ORDER BY Id"
    )
    rest = [r["Id"] for r in sf.query_all(soql)["records"]]
    pages = list(sf.bulk2.Opportunity.query(soql, max_records=1000, wait=0.05))
    headers, rows = rows_of(pages)
    assert len(pages) == math.ceil(len(rest) / 1000)
    assert [r["Id"] for r in rows] != rest  # ORDER BY is not honoured
    assert sorted(r["Id"] for r in rows) == rest  # every record exactly once
    assert all(
        set(h) == {"Id", "Name", "Amount", "IsWon", "CloseDate", "LastModifiedDate"}
        for h in headers
    )
    assert len({tuple(h) for h in headers}) == 1  # one column order per job
    sample = rows[0]
    assert sample["IsWon"] in {"true", "false"}
    assert sample["LastModifiedDate"].endswith("Z")


def test_bulk_query_is_reproducible(generated: SandboxServer) -> None:
    soql = "SELECT Id FROM Opportunity"
    first = list(client(generated).bulk2.Opportunity.query(soql, wait=0.05))
    second = list(client(generated).bulk2.Opportunity.query(soql, wait=0.05))
    assert rows_of(first)[1]
    assert {r["Id"] for r in rows_of(first)[1]} == {r["Id"] for r in rows_of(second)[1]}


def test_bulk_query_all_includes_deleted(generated: SandboxServer) -> None:
    sf = client(generated)
    every = sf.query("SELECT COUNT() FROM Opportunity", include_deleted=True)["totalSize"]
    live = sf.query("SELECT COUNT() FROM Opportunity")["totalSize"]
    _, rows = rows_of(
        list(sf.bulk2.Opportunity.query_all("SELECT Id, IsDeleted FROM Opportunity", wait=0.05))
    )
    assert len(rows) == every
    assert sum(r["IsDeleted"] == "true" for r in rows) == every - live > 0


def test_job_states_locators_and_record_counts(generated: SandboxServer) -> None:
    http = session_for(generated)
    http.headers["Authorization"] = f"Bearer {generated.env()['SALESFORCE_ACCESS_TOKEN']}"
    base = generated.url + BASE
    job = http.post(
        f"{base}/query", json={"operation": "query", "query": "SELECT Id FROM Opportunity"}
    ).json()
    assert job["state"] == "UploadComplete"
    assert job["id"].startswith("750")
    early = http.get(f"{base}/query/{job['id']}/results")
    assert early.status_code == 400
    states = [http.get(f"{base}/query/{job['id']}").json()["state"] for _ in range(3)]
    assert states == ["InProgress", "JobComplete", "JobComplete"]
    total = http.get(f"{base}/query/{job['id']}").json()["numberRecordsProcessed"]
    seen, locator = 0, None
    while True:
        params: dict[str, Any] = {"maxRecords": 700}
        if locator:
            params["locator"] = locator
        page = http.get(f"{base}/query/{job['id']}/results", params=params)
        assert page.status_code == 200
        count = int(page.headers["Sforce-NumberOfRecords"])
        assert count == len(page.text.strip().split("\n")) - 1
        seen += count
        locator = page.headers["Sforce-Locator"]
        if locator == "null":
            break
        assert count == 700
    assert seen == total > 2000
    bad = http.get(f"{base}/query/{job['id']}/results", params={"locator": "%%bad"})
    assert bad.status_code == 400
    assert isinstance(bad.json(), list)


def test_bulk_query_with_bad_soql_is_refused(generated: SandboxServer) -> None:
    http = session_for(generated)
    http.headers["Authorization"] = f"Bearer {generated.env()['SALESFORCE_ACCESS_TOKEN']}"
    reply = http.post(
        generated.url + BASE + "/query",
        json={"operation": "query", "query": "SELECT Nope__c FROM Opportunity"},
    )
    assert reply.status_code == 400
    assert reply.json()[0]["errorCode"] == "INVALID_FIELD"


def test_ingest_update_results(world: SandboxServer) -> None:
    sf = client(world)
    result = sf.bulk2.Opportunity.update(
        records=[
            {
                "Id": ACME_PILOT,
                "Pipeline_Stale__c": "true",
                "Pipeline_Stale_Since__c": "2026-06-02",
            },
            {"Id": DELETED, "Pipeline_Stale__c": "true", "Pipeline_Stale_Since__c": ""},
            {"Id": GLOBEX, "Pipeline_Stale__c": "maybe", "Pipeline_Stale_Since__c": ""},
        ],
        wait=0.05,
    )
    assert [{k: v for k, v in r.items() if k != "job_id"} for r in result] == [
        {"numberRecordsFailed": 2, "numberRecordsProcessed": 3, "numberRecordsTotal": 3},
    ]
    job_id = result[0]["job_id"]
    _, ok = rows_of([sf.bulk2.Opportunity.get_successful_records(job_id)])
    assert [(r["sf__Id"], r["sf__Created"], r["Pipeline_Stale__c"]) for r in ok] == [
        (ACME_PILOT, "false", "true"),
    ]
    _, failed = rows_of([sf.bulk2.Opportunity.get_failed_records(job_id)])
    assert {r["sf__Id"]: r["sf__Error"] for r in failed} == {
        DELETED: "ENTITY_IS_DELETED:entity is deleted:--",
        GLOBEX: "INVALID_TYPE_ON_FIELD_IN_RECORD:Pipeline Stale: value not of required type: "
        "maybe:Pipeline_Stale__c",
    }
    unprocessed = sf.bulk2.Opportunity.get_unprocessed_records(job_id).strip().split("\n")
    assert len(unprocessed) == 1  # the header only
    assert set(unprocessed[0].split(",")) == {"Id", "Pipeline_Stale__c", "Pipeline_Stale_Since__c"}
    record = sf.Opportunity.get(ACME_PILOT)
    assert (record["Pipeline_Stale__c"], record["Pipeline_Stale_Since__c"]) == (True, "2026-06-02")
    assert sorted((e.record_id, e.field) for e in world.write_log.entries("salesforce")) == [
        (ACME_PILOT, "Pipeline_Stale_Since__c"),
        (ACME_PILOT, "Pipeline_Stale__c"),
    ]


def test_ingest_unknown_column_fails_the_job(world: SandboxServer) -> None:
    with pytest.raises(SalesforceOperationError, match="Field name not found : Bogus__c"):
        client(world).bulk2.Opportunity.update(
            records=[{"Id": ACME_PILOT, "Bogus__c": "1"}], wait=0.05
        )
    assert world.write_log.entries() == []


def test_aborted_ingest_leaves_records_unprocessed(world: SandboxServer) -> None:
    http = session_for(world)
    http.headers["Authorization"] = f"Bearer {world.env()['SALESFORCE_ACCESS_TOKEN']}"
    base = world.url + BASE + "/ingest"
    job = http.post(
        base,
        json={
            "object": "Opportunity",
            "operation": "update",
            "contentType": "CSV",
            "lineEnding": "LF",
        },
    ).json()
    assert job["state"] == "Open"
    upload = http.put(
        f"{base}/{job['id']}/batches",
        data="Id,Name\n" + ACME_PILOT + ",Renamed\n",
        headers={"Content-Type": "text/csv"},
    )
    assert upload.status_code == 201
    assert http.patch(f"{base}/{job['id']}", json={"state": "Aborted"}).json()["state"] == "Aborted"
    assert http.get(f"{base}/{job['id']}").json()["state"] == "Aborted"
    unprocessed = http.get(f"{base}/{job['id']}/unprocessedrecords")
    assert unprocessed.text == f"Id,Name\n{ACME_PILOT},Renamed\n"
    assert client(world).Opportunity.get(ACME_PILOT)["Name"] == "Acme pilot"
    again = http.patch(f"{base}/{job['id']}", json={"state": "UploadComplete"})
    assert again.status_code == 400


def test_ingest_of_other_operations_is_refused(world: SandboxServer) -> None:
    http = session_for(world)
    http.headers["Authorization"] = f"Bearer {world.env()['SALESFORCE_ACCESS_TOKEN']}"
    reply = http.post(
        world.url + BASE + "/ingest", json={"object": "Opportunity", "operation": "delete"}
    )
    assert reply.status_code == 400
    assert reply.json()[0]["errorCode"] == "FEATURENOTENABLED"
