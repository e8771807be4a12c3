"""REST query pages written from kept record JSON: byte for byte what Response.json writes,
fresh after a write, and left to Response.json for what they do not keep."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from connectors.sandbox.api import Request, Response, WriteLog
from connectors.sandbox.salesforce import SalesforceApi, soql
from connectors.sandbox.salesforce.generate import generate
from connectors.sandbox.salesforce.page_json import PageWriter

ANCHOR = datetime(2026, 6, 15, tzinfo=UTC)
FIELDS = "Id, Name, StageName, Amount, CloseDate, LastActivityDate, SystemModstamp, IsDeleted"


def _api() -> SalesforceApi:
    return SalesforceApi(generate(deals=120, seed=4, anchor=ANCHOR), write_log=WriteLog(), seed=4)


def _get(api: SalesforceApi, url: str, **headers: str) -> dict[str, Any]:
    split = urlsplit(url)
    request = Request(
        method="GET",
        path=split.path,
        query=parse_qs(split.query),
        headers={"authorization": f"Bearer {api.auth.direct_token}", **headers},
    )
    response = api.handle(request)
    assert response.status == 200, response.body
    return json.loads(response.body)


def _query(api: SalesforceApi, text: str) -> dict[str, Any]:
    url = "/services/data/v59.0/queryAll/?" + "q=" + text.replace(" ", "+")
    return _get(api, url, **{"sforce-query-options": "batchSize=200"})


def _expected(api: SalesforceApi, text: str, rows: list[dict[str, Any]], head: dict) -> bytes:
    query = soql.parse(text, api.state.objects)
    records = soql.project_page(query, rows, lookup=api.state.lookup, api_version="59.0")
    return Response.json(200, {**head, "records": records}).body


def test_pages_equal_response_json_when_fresh_and_when_read_again() -> None:
    api = _api()
    text = f"SELECT {FIELDS} FROM Opportunity ORDER BY SystemModstamp, Id"
    query = soql.parse(text, api.state.objects)
    rows = sorted(
        api.state.table("Opportunity").values(), key=lambda r: (r["SystemModstamp"], r["Id"])
    )
    rows[3]["Name"] = 'Tricky "},{"attributes":{"x": 1} name'  # a separator inside a string
    writer = PageWriter()
    head = {"totalSize": 120, "done": False, "nextRecordsUrl": "/services/data/v59.0/query/x-50"}
    for page in (rows[:50], rows[:50], rows[25:75], rows[:1], []):
        data = writer.page(head, query, page, lookup=api.state.lookup, api_version="59.0")
        assert data == _expected(api, text, page, head)
    assert json.loads(data)["records"] == []  # type: ignore[arg-type]


def test_a_write_is_seen_on_the_next_read_of_a_kept_page() -> None:
    api = _api()
    text = f"SELECT {FIELDS} FROM Opportunity WHERE IsDeleted = false ORDER BY Id"
    first = _query(api, text)
    target = first["records"][7]["Id"]
    assert _query(api, text) == first
    token = api.auth.direct_token
    patch = Request(
        method="PATCH",
        path=f"/services/data/v59.0/sobjects/Opportunity/{target}",
        query={},
        headers={"authorization": f"Bearer {token}"},
        body=b'{"Name": "Renamed", "Amount": 1234.5}',
    )
    assert api.handle(patch).status == 204
    again = _query(api, text)
    changed = again["records"][7]
    assert (changed["Id"], changed["Name"], changed["Amount"]) == (target, "Renamed", 1234.5)
    assert changed["SystemModstamp"] != first["records"][7]["SystemModstamp"]
    assert [r for i, r in enumerate(again["records"]) if i != 7] == [
        r for i, r in enumerate(first["records"]) if i != 7
    ]


def test_a_small_cache_still_writes_every_page_right() -> None:
    api = _api()
    text = f"SELECT {FIELDS} FROM Opportunity ORDER BY Id"
    query = soql.parse(text, api.state.objects)
    rows = list(api.state.table("Opportunity").values())
    writer = PageWriter(max_records=30)
    head = {"totalSize": 120, "done": True}
    for page in (rows[:20], rows[10:40], rows[:20], rows[100:120], rows[:20]):
        data = writer.page(head, query, page, lookup=api.state.lookup, api_version="59.0")
        assert data == _expected(api, text, page, head)


@pytest.mark.parametrize(
    "text",
    [
        "SELECT Id, Name FROM Account ORDER BY Id",  # records of other objects are not kept
        "SELECT Id, Owner.Name FROM Opportunity ORDER BY Id",  # nor relationships
    ],
)
def test_what_is_not_kept_goes_to_response_json(text: str) -> None:
    api = _api()
    query = soql.parse(text, api.state.objects)
    rows = list(api.state.table(query.object_name).values())[:5]
    head = {"totalSize": 5, "done": True}
    assert PageWriter().page(head, query, rows, lookup=api.state.lookup, api_version="59.0") is None
    body = _query(api, text)
    assert body["records"][0]["attributes"]["type"] == query.object_name


def test_a_value_orjson_writes_differently_goes_to_response_json() -> None:
    api = _api()
    text = "SELECT Id, Probability FROM Opportunity ORDER BY Id LIMIT 3"
    query = soql.parse(text, api.state.objects)
    rows = sorted(api.state.table("Opportunity").values(), key=lambda r: r["Id"])[:3]
    rows[1]["Probability"] = 2**70  # beyond orjson's integers; json.dumps writes it
    head = {"totalSize": 3, "done": True}
    assert PageWriter().page(head, query, rows, lookup=api.state.lookup, api_version="59.0") is None
    assert _query(api, text)["records"][1]["Probability"] == 2**70


def test_a_named_page_is_kept_from_its_second_read() -> None:
    api = _api()
    text = f"SELECT {FIELDS} FROM Opportunity ORDER BY Id"
    query = soql.parse(text, api.state.objects)
    rows = list(api.state.table("Opportunity").values())[:40]
    writer = PageWriter()
    head = {"totalSize": 40, "done": True}

    def read(key: object) -> bytes | None:
        return writer.page(
            head, query, rows, lookup=api.state.lookup, api_version="59.0", page_key=key
        )

    assert read(("q", 0)) is None  # first read: the caller writes it with Response.json
    assert read(("q", 0)) == read(("q", 0)) == _expected(api, text, rows, head)
    assert read(("q", 2000)) is None
