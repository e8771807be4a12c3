"""Bulk 2.0 jobs of all OpportunityHistory answered from the numpy columns: the same CSV
cells as rows built one by one, deleted rows as query/queryAll want, rows added by writes
included, and other history queries still run as any query; `soql.csv_page` equals
`soql.csv_rows`."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from connectors.sandbox.api import Request, Response, WriteLog
from connectors.sandbox.salesforce import SalesforceApi, soql
from connectors.sandbox.salesforce.bulk import Job, _quoted_csv
from connectors.sandbox.salesforce.generate import generate

ANCHOR = datetime(2026, 6, 15, tzinfo=UTC)
ALL_FIELDS = (
    "Id, OpportunityId, CreatedById, CreatedDate, StageName, Amount, ExpectedRevenue, "
    "CloseDate, Probability, ForecastCategory, PrevAmount, PrevCloseDate, CurrencyIsoCode, "
    "SystemModstamp, IsDeleted"
)
JOBS = "/services/data/v59.0/jobs/query"


def _api() -> SalesforceApi:
    return SalesforceApi(generate(deals=300, seed=8, anchor=ANCHOR), write_log=WriteLog(), seed=8)


def _send(api: SalesforceApi, method: str, url: str, body: Any = None) -> Response:
    split = urlsplit(url)
    request = Request(
        method=method,
        path=split.path,
        query=parse_qs(split.query),
        headers={
            "authorization": f"Bearer {api.auth.direct_token}",
            "content-type": "application/json",
        },
        body=b"" if body is None else json.dumps(body).encode(),
    )
    response = api.handle(request)
    assert response.status < 300, response.body
    return response


def _bulk(api: SalesforceApi, text: str, *, operation: str, page: int = 170) -> list[dict]:
    """Every result row of a Bulk query job, read in pages of `page` rows."""
    job = json.loads(_send(api, "POST", JOBS, {"operation": operation, "query": text}).body)
    for _ in range(3):
        _send(api, "GET", f"{JOBS}/{job['id']}")
    rows: list[dict] = []
    locator = ""
    while True:
        url = f"{JOBS}/{job['id']}/results?maxRecords={page}"
        response = _send(api, "GET", url + (f"&locator={locator}" if locator else ""))
        found = list(csv.DictReader(io.StringIO(response.body.decode())))
        assert int(response.headers["Sforce-NumberOfRecords"]) == len(found)
        rows.extend(found)
        locator = response.headers["Sforce-Locator"]
        if locator == "null":
            return rows


def _expected(api: SalesforceApi, text: str, *, include_deleted: bool) -> list[dict]:
    """The rows as the generic path writes them: HistoryTable rows, one csv_rows each."""
    query = soql.parse(text, api.state.objects)
    rows = [
        row
        for row in api.state.table("OpportunityHistory").values()
        if include_deleted or not row["IsDeleted"]
    ]
    header = soql.csv_header(query)
    cells = soql.csv_rows(query, rows, lookup=api.state.lookup)
    return [dict(zip(header, line, strict=True)) for line in cells]


def _key(rows: list[dict]) -> Counter:
    return Counter(tuple(sorted(row.items())) for row in rows)


def _patch(api: SalesforceApi, record_id: str, body: dict) -> None:
    _send(api, "PATCH", f"/services/data/v59.0/sobjects/Opportunity/{record_id}", body)


def test_all_history_equals_rows_built_one_by_one_after_writes() -> None:
    api = _api()
    opportunities = [r for r in api.state.table("Opportunity").values() if not r["IsDeleted"]]
    _patch(api, opportunities[0]["Id"], {"StageName": "Closed Won"})  # adds a history row
    _patch(api, opportunities[1]["Id"], {"Amount": 777.25})
    _send(api, "DELETE", f"/services/data/v59.0/sobjects/Opportunity/{opportunities[2]['Id']}")
    text = f"SELECT {ALL_FIELDS} FROM OpportunityHistory"
    everything = _bulk(api, text, operation="queryAll")
    expected = _expected(api, text, include_deleted=True)
    assert len(everything) == len(expected) > 1000
    assert _key(everything) == _key(expected)
    assert all(job.history is not None for job in api.bulk.jobs.values())  # the numpy path
    won = [r for r in everything if r["OpportunityId"] == opportunities[0]["Id"]]
    assert "Closed Won" in {r["StageName"] for r in won}
    assert any(r["PrevAmount"] and r["Amount"] == "777.25" for r in everything)
    live = _bulk(api, text, operation="query")
    assert _key(live) == _key(_expected(api, text, include_deleted=False))
    assert len(live) < len(everything)
    assert {r["IsDeleted"] for r in live} == {"false"}
    assert {r["IsDeleted"] for r in everything} == {"true", "false"}


def test_history_rows_come_shuffled_and_a_sample_is_exact() -> None:
    api = _api()
    text = "SELECT Id, OpportunityId, StageName, CreatedDate FROM OpportunityHistory"
    rows = _bulk(api, text, operation="queryAll", page=5000)
    ids = [r["Id"] for r in rows]
    assert ids != sorted(ids) and len(set(ids)) == len(ids)  # unordered, each once
    first = api.state.table("OpportunityHistory").get(ids[0])
    assert first is not None
    assert rows[0] == {
        "Id": first["Id"],
        "OpportunityId": first["OpportunityId"],
        "StageName": first["StageName"],
        "CreatedDate": first["CreatedDate"].strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{first['CreatedDate'].microsecond // 1000:03d}Z",
    }


def test_filtered_history_queries_run_as_any_query() -> None:
    api = _api()
    opportunity = next(iter(api.state.table("OpportunityHistory").values()))["OpportunityId"]
    text = f"SELECT Id, StageName FROM OpportunityHistory WHERE OpportunityId = '{opportunity}'"
    rows = _bulk(api, text, operation="queryAll")
    expected = [
        {"Id": r["Id"], "StageName": r["StageName"]}
        for r in api.state.table("OpportunityHistory").values()
        if r["OpportunityId"] == opportunity
    ]
    assert _key(rows) == _key(expected) and rows
    assert all(job.history is None for job in api.bulk.jobs.values())  # the generic path


def test_csv_page_equals_csv_rows_for_every_kind_of_value() -> None:
    api = _api()
    text = "SELECT Id, Name, Amount, Probability, IsWon, CloseDate, CreatedDate FROM Opportunity"
    query = soql.parse(text, api.state.objects)
    base = list(api.state.table("Opportunity").values())[:6]
    rows = [dict(row) for row in base]
    rows[0]["Amount"], rows[1]["Amount"], rows[2]["Amount"] = 1, 1.0, True  # one key in a dict
    rows[3]["Amount"] = None
    rows[1]["Probability"] = 0
    rows[2]["IsWon"] = None
    rows[4]["CreatedDate"] = datetime(
        2026, 1, 2, 3, 4, 5, 678_901, tzinfo=timezone(timedelta(hours=2))
    )
    rows[5]["CloseDate"] = date(2026, 2, 3)
    rows[5]["Name"] = 'Quote "and", comma'
    expected = [tuple(line) for line in soql.csv_rows(query, rows, lookup=api.state.lookup)]
    columns = soql.csv_columns(query, rows, lookup=api.state.lookup)
    assert list(zip(*columns, strict=True)) == expected
    assert expected[0][2] == "1" and expected[1][2] == "1.0" and expected[2][2] == "true"
    assert expected[4][6] == "2026-01-02T01:04:05.678Z"
    assert soql.csv_columns(query, [], lookup=api.state.lookup) == [[]] * 7


@pytest.mark.parametrize(("delimiter", "line_ending"), [("COMMA", "LF"), ("PIPE", "CRLF")])
def test_quoted_csv_is_what_csv_writer_writes(delimiter: str, line_ending: str) -> None:
    job = Job(
        id="750x",
        kind="query",
        operation="query",
        object="Opportunity",
        created=ANCHOR,
        version="59.0",
        delimiter=delimiter,
        line_ending=line_ending,
    )
    header = ["Id", "Name", "Note"]
    columns = [["1", "2", "3"], ['say "hi"', "a,b|c", ""], ["line\nbreak", "plain", '"']]
    out = io.StringIO()
    writer = csv.writer(
        out,
        quoting=csv.QUOTE_ALL,
        delimiter={"COMMA": ",", "PIPE": "|"}[delimiter],
        lineterminator={"LF": "\n", "CRLF": "\r\n"}[line_ending],
    )
    writer.writerow(header)
    writer.writerows(zip(*columns, strict=True))
    assert _quoted_csv(job, header, columns) == out.getvalue()
    assert _quoted_csv(job, header, [[], [], []]) == out.getvalue().splitlines(keepends=True)[0]
