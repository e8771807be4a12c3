"""Query pages rendered ahead: a cursor's next page is built in the background, served as
the same bytes a fresh render writes, and rendered afresh when a write touched it."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from connectors.sandbox.after_response import after_response, deferring, run_all
from connectors.sandbox.api import Request, Response, WriteLog
from connectors.sandbox.salesforce import SalesforceApi
from connectors.sandbox.salesforce.generate import generate
from connectors.sandbox.salesforce.page_prefetch import Prefetcher, PrefetchSlot, ReadyPage
from connectors.sandbox.salesforce.query import MAX_CURSORS

ANCHOR = datetime(2026, 6, 15, tzinfo=UTC)
FIELDS = "Id, Name, StageName, Amount, CloseDate, LastActivityDate, SystemModstamp, IsDeleted"
TEXT = f"SELECT {FIELDS} FROM Opportunity ORDER BY Id"


class _Counting:
    """Wraps QueryResource._render to count renders made in request threads (not the
    prefetch worker's)."""

    def __init__(self, api: SalesforceApi) -> None:
        self.foreground = 0
        original = api.queries._render

        def render(*args: Any, **kwargs: Any) -> bytes:
            if threading.current_thread().name != "sandbox-sf-prefetch":
                self.foreground += 1
            return original(*args, **kwargs)

        api.queries._render = render  # type: ignore[method-assign]


def _api(deals: int = 450) -> SalesforceApi:
    return SalesforceApi(generate(deals=deals, seed=5, anchor=ANCHOR), write_log=WriteLog(), seed=5)


def _send(api: SalesforceApi, method: str, url: str, body: bytes = b"", **headers: str) -> Response:
    split = urlsplit(url)
    request = Request(
        method=method,
        path=split.path,
        query=parse_qs(split.query),
        headers={"authorization": f"Bearer {api.auth.direct_token}", **headers},
        body=body,
    )
    return api.handle(request)


def _first(api: SalesforceApi, text: str = TEXT) -> Response:
    url = f"/services/data/v59.0/queryAll/?q={quote(text)}"
    response = _send(api, "GET", url, **{"sforce-query-options": "batchSize=200"})
    assert response.status == 200, response.body
    return response


def _all_pages(api: SalesforceApi, *, wait: bool) -> list[bytes]:
    bodies = [_first(api).body]
    while "nextRecordsUrl" in json.loads(bodies[-1]):
        if wait:
            assert api.queries.ahead.idle()
        response = _send(api, "GET", json.loads(bodies[-1])["nextRecordsUrl"])
        assert response.status == 200, response.body
        bodies.append(response.body)
    return bodies


def test_following_a_cursor_serves_pages_rendered_ahead_byte_for_byte() -> None:
    fresh = _api(deals=650)  # 4 pages of 200
    counting = _Counting(fresh)
    ahead = _all_pages(fresh, wait=True)
    assert len(ahead) == 4
    assert counting.foreground == 1  # only the first page was rendered in the request
    plain = _api(deals=650)
    plain.queries.ahead.schedule = lambda *a, **k: None  # type: ignore[method-assign]
    expected = _all_pages(plain, wait=False)
    assert ahead == expected
    records = [r["Id"] for body in ahead for r in json.loads(body)["records"]]
    assert len(records) == 650 == len(set(records))


def test_pages_asked_for_before_the_worker_is_done_are_still_right() -> None:
    fresh = _api(deals=650)
    assert _all_pages(fresh, wait=False) == _all_pages(_api(deals=650), wait=True)


def test_a_write_to_a_record_of_the_page_ahead_is_seen() -> None:
    api = _api()
    counting = _Counting(api)
    first = json.loads(_first(api).body)
    assert api.queries.ahead.idle()
    next_url = first["nextRecordsUrl"]
    cursor = api.queries.cursors.get(next_url.rsplit("/", 1)[1].split("-")[0])
    assert cursor is not None and cursor.ahead.ready is not None  # page 2 is ready
    target = cursor.rows[205]["Id"]
    patch = _send(
        api,
        "PATCH",
        f"/services/data/v59.0/sobjects/Opportunity/{target}",
        b'{"Name": "Renamed after the render", "Amount": 4321.5}',
    )
    assert patch.status == 204
    second = json.loads(_send(api, "GET", next_url).body)
    assert counting.foreground == 2  # the ready page was refused: rendered afresh
    record = second["records"][5]
    assert (record["Id"], record["Name"], record["Amount"]) == (
        target,
        "Renamed after the render",
        4321.5,
    )


def test_a_page_is_rendered_ahead_once_and_released_cursors_drop_theirs() -> None:
    api = _api()
    first = json.loads(_first(api).body)
    assert api.queries.ahead.idle()
    cursor = api.queries.cursors.get(first["nextRecordsUrl"].rsplit("/", 1)[1].split("-")[0])
    assert cursor is not None and cursor.ahead.ready is not None
    assert cursor.ahead.ready.start == 200
    for _ in range(MAX_CURSORS):  # newer cursors push this one out
        _first(api)
    assert cursor.ahead.released and cursor.ahead.ready is None
    response = _send(api, "GET", first["nextRecordsUrl"])
    assert response.status == 400
    assert json.loads(response.body)[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_relationship_projections_and_other_objects_are_not_rendered_ahead() -> None:
    api = _api()
    for text in (
        "SELECT Id, Account.Name FROM Opportunity ORDER BY Id",
        "SELECT Id, StageName FROM OpportunityHistory",
    ):
        first = json.loads(_first(api, text).body)
        assert api.queries.ahead.idle()
        cursor = api.queries.cursors.get(first["nextRecordsUrl"].rsplit("/", 1)[1].split("-")[0])
        assert cursor is not None
        assert cursor.ahead.ready is None and cursor.ahead.wanted is None


def test_prefetcher_keeps_one_page_per_slot_and_survives_a_failing_render() -> None:
    calls: list[int] = []

    def render(owner: Any, start: int, version: str) -> ReadyPage | None:
        calls.append(start)
        if start == 13:
            raise RuntimeError("boom")
        return ReadyPage(start=start, version=version, stamps=(), body=str(start).encode())

    prefetcher = Prefetcher(render)
    slot = PrefetchSlot()
    prefetcher.schedule("owner", slot, start=13, version="59.0")
    assert prefetcher.idle()
    assert slot.ready is None and prefetcher.take(slot, start=13, version="59.0") is None
    prefetcher.schedule("owner", slot, start=20, version="59.0")
    assert prefetcher.idle()
    prefetcher.schedule("owner", slot, start=20, version="59.0")  # already ready: no render
    assert prefetcher.idle()
    assert calls == [13, 20]
    assert prefetcher.take(slot, start=20, version="60.0") is None  # another version
    ready = prefetcher.take(slot, start=20, version="59.0")
    assert ready is not None and ready.body == b"20"
    assert prefetcher.take(slot, start=20, version="59.0") is None  # handed over once
    prefetcher.release(slot)
    prefetcher.schedule("owner", slot, start=40, version="59.0")
    assert prefetcher.idle()
    assert calls == [13, 20] and slot.ready is None


def test_ready_page_validity_follows_the_stamp_objects() -> None:
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [{"Id": "a", "SystemModstamp": stamp}]
    page = ReadyPage(start=0, version="59.0", stamps=(stamp,), body=b"")
    assert page.still_valid(rows)
    rows[0]["SystemModstamp"] = datetime(2026, 1, 1, tzinfo=UTC)  # equal, but a new stamp
    assert not page.still_valid(rows)
    assert not page.still_valid([])


def test_after_response_work_waits_for_the_server_and_runs_at_once_without_one() -> None:
    done: list[str] = []
    after_response(lambda: done.append("now"))
    assert done == ["now"]
    with deferring() as pending:
        after_response(lambda: done.append("later"))
        assert done == ["now"]
    assert done == ["now"]
    run_all(pending)
    assert done == ["now", "later"] and pending == []
