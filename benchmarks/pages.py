"""Benchmark: one API page at N deals per CRM (default 500,000): the sandbox's own `handle()`
time, and the client round trip over HTTPS with keep-alive (requests.Session), for

- Salesforce: a 2,000-record page of the full Opportunity extract (REST queryAll cursor,
  the sync's field list), read again (the sandbox keeps served records' JSON) and read for
  the first time: following `nextRecordsUrl` as a client does (the sandbox renders the next
  page in the background while the client decodes the one it got), once the background
  render is done, and at pages jumped to (nothing rendered ahead: the render's own cost);
  the query's first call (it runs the query over every record), an OpportunityHistory
  `IN (200 ids)` read, as the sync issues per 200 deals, and the Bulk 2.0 job of all
  OpportunityHistory (the full load's): its creation and its 50,000-row CSV pages;
- HubSpot: a 100-deal list page (the sync's property list, no history), a 50-deal page with
  dealstage history and companies (the first-sync listing), and a 200-result search page.

The server runs in this process (a thread), so a round trip also pays the client's share of
one interpreter; the page is fetched, not JSON-decoded.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import requests
from simple_salesforce import format_soql

from benchmarks.measure import Timings, own_peak_rss_mb, time_calls
from benchmarks.sandbox_process import SandboxProcess
from connectors.hubspot_flatten import DEFAULT_FLAG_PROPERTIES
from connectors.hubspot_properties import select_deal_properties, split_for_query
from connectors.salesforce_deals import DEAL_FIELDS, HISTORY_FIELDS
from connectors.sandbox.api import Request, Response
from connectors.sandbox.server import CA_BUNDLE_VARIABLE, SandboxServer

VERSION = "59.0"
REPEAT = 40
FLAG_FIELDS = ("Pipeline_Stale__c", "Pipeline_Stale_Reason__c", "Pipeline_Stale_Since__c")
TARGET_MS = 10.0  # "a few milliseconds", read generously
CLIENT_WORK_SECONDS = 0.02  # a client's own work on a page besides decoding it (flattening…)


def _request(method: str, url: str, *, token: str, body: bytes = b"",
             headers: dict[str, str] | None = None) -> Request:  # fmt: skip
    split = urlsplit(url)
    return Request(
        method=method,
        path=split.path,
        query=parse_qs(split.query, keep_blank_values=True),
        headers={"authorization": f"Bearer {token}", **(headers or {})},
        body=body,
    )


class PageBench:
    """Both kinds of measurement against one running in-process sandbox."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.session = requests.Session()
        self.session.trust_env = False  # REQUESTS_CA_BUNDLE would override `verify`
        self.rows: list[tuple[str, str, str]] = []

    def handle(self, api: str, request: Request) -> Response:
        """One call of the API's handle(), checked for success."""
        response = self.server.apis[api].handle(request)
        if response.status >= 300:
            raise RuntimeError(f"{request.path}: {response.status} {response.body[:300]!r}")
        return response

    def measure(self, label: str, *, server: Callable[[], Any], client: Callable[[], Any],
                target: bool = True) -> None:  # fmt: skip
        """Record handle() and round-trip timings of one page."""
        handled = time_calls(server, repeat=REPEAT)
        round_trip = time_calls(client, repeat=REPEAT)
        self.rows.append((f"{label}: handle()", handled.text(), _verdict(handled, target)))
        self.rows.append(
            (f"{label}: HTTPS round trip", round_trip.text(), _verdict(round_trip, target))
        )

    def get(self, url: str, *, token: str, headers: dict[str, str] | None = None) -> bytes:
        """GET over the keep-alive session; the body."""
        reply = self.session.get(
            self.server.url + url,
            headers={"Authorization": f"Bearer {token}", **(headers or {})},
            timeout=60,
            verify=self.server.ca_bundle,
        )
        reply.raise_for_status()
        return reply.content

    def post(self, url: str, *, token: str, body: bytes) -> bytes:
        """POST JSON over the keep-alive session; the body."""
        reply = self.session.post(
            self.server.url + url,
            data=body,
            timeout=60,
            verify=self.server.ca_bundle,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        reply.raise_for_status()
        return reply.content


def _verdict(timings: Timings, target: bool) -> str:
    if not target:
        return ""
    return "met" if timings.median <= TARGET_MS else "NOT met"


def salesforce(bench: PageBench) -> None:
    """The Salesforce pages."""
    api = bench.server.apis["salesforce"]
    token = api.auth.direct_token  # type: ignore[attr-defined]
    soql = format_soql(
        "SELECT {fields:literal} FROM Opportunity ORDER BY SystemModstamp, Id",
        fields=", ".join([*DEAL_FIELDS, *FLAG_FIELDS]),
    )
    first_url = f"/services/data/v{VERSION}/queryAll/?q={quote(soql)}"
    options = {"sforce-query-options": "batchSize=2000"}
    started = time.perf_counter()
    first = bench.handle("salesforce", _request("GET", first_url, token=token, headers=options))
    bench.rows.append(("SF full-extract query, first call (runs the query over all deals)",
                       f"{(time.perf_counter() - started) * 1000:.0f} ms", ""))  # fmt: skip
    next_url = _json(first)["nextRecordsUrl"]
    locator = next_url.rsplit("-", 1)[0]
    total = len(api.state.tables["Opportunity"])  # type: ignore[attr-defined]
    middle = f"{locator}-{total // 2}"
    bench.measure(
        "SF 2,000-record query page (cursor), read again",
        server=lambda: bench.handle("salesforce", _request("GET", middle, token=token)),
        client=lambda: bench.get(middle, token=token),
    )
    # First reads, as a sync reads: the next page of a fresh cursor each time, the client
    # decoding the page it got (simple-salesforce's `response.json()`) before asking for the
    # next, while the sandbox renders that one in the background.
    queries = api.queries  # type: ignore[attr-defined]

    def fresh_cursor() -> bytes:
        return bench.handle(
            "salesforce", _request("GET", first_url, token=token, headers=options)
        ).body

    def serve(url: str) -> bytes:
        return bench.handle("salesforce", _request("GET", url, token=token)).body

    label = "SF 2,000-record query page (cursor), first read"
    following = _follow(serve, fresh_cursor())
    bench.rows.append((f"{label}, following nextRecordsUrl: handle()", following.text(),
                       _verdict(following, True)))  # fmt: skip
    ready = _follow(serve, fresh_cursor(), settle=queries.ahead.idle)
    bench.rows.append((f"{label}, page rendered ahead: handle()", ready.text(),
                       _verdict(ready, True)))  # fmt: skip
    trips = _follow(lambda url: bench.get(url, token=token), fresh_cursor())
    bench.rows.append((f"{label}, following nextRecordsUrl: HTTPS round trip", trips.text(),
                       _verdict(trips, True)))  # fmt: skip
    # Pages jumped to (never served, nothing rendered ahead): what rendering a page costs.
    # Each jump has the page after it rendered ahead; that render is let finish untimed.
    step = max(2000, (total - 14_000) // (2 * REPEAT + 8))
    pages = itertools.cycle(list(range(10_000, total - 2000, step)) or [0])  # small N: repeats

    def jump(fetch: Callable[[str], object]) -> Timings:
        samples = []
        for index in range(2 + REPEAT):
            queries.ahead.idle()
            started = time.perf_counter()
            fetch(f"{locator}-{next(pages)}")
            if index >= 2:
                samples.append((time.perf_counter() - started) * 1000)
        return Timings(tuple(samples))

    label = "SF 2,000-record query page (cursor), first read of a page jumped to (the render)"
    bench.rows.append((f"{label}: handle()", jump(serve).text(), ""))
    trips = jump(lambda url: bench.get(url, token=token))
    bench.rows.append((f"{label}: HTTPS round trip", trips.text(), ""))
    ids = list(api.state.tables["Opportunity"])[1000:1200]  # type: ignore[attr-defined]
    history = format_soql(
        "SELECT {fields:literal} FROM OpportunityHistory WHERE OpportunityId IN {ids}"
        " ORDER BY OpportunityId, CreatedDate",
        fields=", ".join(HISTORY_FIELDS),
        ids=ids,
    )
    history_url = f"/services/data/v{VERSION}/queryAll/?{urlencode({'q': history})}"
    started = time.perf_counter()
    bench.handle("salesforce", _request("GET", history_url, token=token))
    bench.rows.append(("SF OpportunityHistory IN (200 ids), first call",
                       f"{(time.perf_counter() - started) * 1000:.1f} ms", ""))  # fmt: skip
    bench.measure(
        "SF OpportunityHistory IN (200 ids) query",
        server=lambda: bench.handle("salesforce", _request("GET", history_url, token=token)),
        client=lambda: bench.get(history_url, token=token),
    )


def _follow(
    fetch: Callable[[str], bytes],
    body: bytes,
    *,
    settle: Callable[[], object] | None = None,
    same_page: bool = False,
) -> Timings:
    """Time `fetch` of each next page of a cursor whose first page is `body`, decoding each
    page untimed first (the client's work); `settle` runs untimed before each fetch. With
    `same_page`, the first next page is fetched again and again."""
    samples = []
    url = json.loads(body).get("nextRecordsUrl")
    for index in range(2 + REPEAT):
        if not same_page or index == 0:
            url = json.loads(body).get("nextRecordsUrl")
        else:
            json.loads(body)
        if url is None:
            break
        if settle is not None:
            settle()
        started = time.perf_counter()
        body = fetch(url)
        if index >= 2:  # the first two are warm-up, as in time_calls
            samples.append((time.perf_counter() - started) * 1000)
    return Timings(tuple(samples) or (float("nan"),))


def salesforce_bulk_history(bench: PageBench) -> None:
    """The full load's Bulk 2.0 job of all OpportunityHistory: creation and CSV pages."""
    api = bench.server.apis["salesforce"]
    token = api.auth.direct_token  # type: ignore[attr-defined]
    jobs = f"/services/data/v{VERSION}/jobs/query"
    soql = format_soql(
        "SELECT {fields:literal} FROM OpportunityHistory", fields=", ".join(HISTORY_FIELDS)
    )
    body = json.dumps({"operation": "queryAll", "query": soql}).encode()
    json_type = {"content-type": "application/json"}
    started = time.perf_counter()
    job = _json(bench.handle("salesforce", _request("POST", jobs, token=token, body=body,
                                                    headers=json_type)))  # fmt: skip
    bench.rows.append(("SF Bulk job of all OpportunityHistory (queryAll): creation",
                       f"{(time.perf_counter() - started) * 1000:,.0f} ms", ""))  # fmt: skip
    for _ in range(3):  # UploadComplete -> InProgress -> JobComplete
        bench.handle("salesforce", _request("GET", f"{jobs}/{job['id']}", token=token))
    samples, rows, locator = [], 0, ""
    for _ in range(4):
        url = f"{jobs}/{job['id']}/results?maxRecords=50000" + (
            f"&locator={locator}" if locator else ""
        )
        started = time.perf_counter()
        page = bench.handle("salesforce", _request("GET", url, token=token))
        samples.append((time.perf_counter() - started) * 1000)
        rows += int(page.headers["Sforce-NumberOfRecords"])
        locator = page.headers["Sforce-Locator"]
        if locator == "null":
            break
    bench.rows.append((f"SF Bulk OpportunityHistory 50,000-row CSV page: handle() "
                       f"({len(samples)} pages, {rows:,} rows)", Timings(tuple(samples)).text(),
                       ""))  # fmt: skip


def hubspot(bench: PageBench) -> None:
    """The HubSpot pages."""
    api = bench.server.apis["hubspot"]
    token = api.token  # type: ignore[attr-defined]
    state = api.state  # type: ignore[attr-defined]
    names = select_deal_properties(
        list(state.properties), flag_properties=DEFAULT_FLAG_PROPERTIES.values()
    )
    in_query, _ = split_for_query(names, max_chars=2000)
    middle = state.active_ids[len(state.active_ids) // 2]
    plain = urlencode({"limit": 100, "after": middle, "properties": ",".join(in_query)})
    plain_url = f"/crm/v3/objects/deals?{plain}"
    bench.measure(
        "HS 100-deal list page",
        server=lambda: bench.handle("hubspot", _request("GET", plain_url, token=token)),
        client=lambda: bench.get(plain_url, token=token),
    )
    rich = urlencode(
        {
            "limit": 50,
            "after": middle,
            "properties": ",".join(in_query),
            "propertiesWithHistory": "dealstage",
            "associations": "companies",
        }
    )
    rich_url = f"/crm/v3/objects/deals?{rich}"
    bench.measure(
        "HS 50-deal page with history + companies",
        server=lambda: bench.handle("hubspot", _request("GET", rich_url, token=token)),
        client=lambda: bench.get(rich_url, token=token),
    )
    stamps = sorted(deal.modified_ms for deal in state.deals.values())
    since = stamps[len(stamps) * 9 // 10]
    body = (
        '{"filterGroups":[{"filters":[{"propertyName":"hs_lastmodifieddate","operator":"GTE",'
        f'"value":"{since}"}}]}}],"sorts":[{{"propertyName":"hs_lastmodifieddate",'
        '"direction":"ASCENDING"}],"properties":["hs_lastmodifieddate","hs_object_id"],'
        '"limit":200,"after":"0"}'
    ).encode()
    search_url = "/crm/v3/objects/deals/search"
    bench.measure(
        "HS 200-result search page (last 10% by modstamp)",
        server=lambda: bench.handle(
            "hubspot", _request("POST", search_url, token=token, body=body)
        ),
        client=lambda: bench.post(search_url, token=token, body=body),
        target=False,
    )


def _json(response: Response) -> dict[str, Any]:
    return json.loads(response.body)


def salesforce_own_process(*, deals: int) -> list[tuple[str, str, str]]:
    """Following a cursor against the sandbox in its own process (`sandbox serve`), as the
    sync runs it: the client's decoding and the sandbox's render ahead run side by side."""
    with SandboxProcess(deals=deals) as process, requests.Session() as session:
        session.trust_env = False
        session.verify = process.env[CA_BUNDLE_VARIABLE]
        base = process.env["SALESFORCE_INSTANCE_URL"]
        auth = {"Authorization": f"Bearer {process.env['SALESFORCE_ACCESS_TOKEN']}"}

        def fetch(url: str, headers: dict[str, str] | None = None) -> bytes:
            reply = session.get(base + url, headers={**auth, **(headers or {})}, timeout=60)
            reply.raise_for_status()
            return reply.content

        soql = format_soql(
            "SELECT {fields:literal} FROM Opportunity ORDER BY SystemModstamp, Id",
            fields=", ".join([*DEAL_FIELDS, *FLAG_FIELDS]),
        )
        first = fetch(f"/services/data/v{VERSION}/queryAll/?q={quote(soql)}",
                      {"Sforce-Query-Options": "batchSize=2000"})  # fmt: skip
        trips = _follow(fetch, first)
        first = fetch(f"/services/data/v{VERSION}/queryAll/?q={quote(soql)}",
                      {"Sforce-Query-Options": "batchSize=2000"})  # fmt: skip
        busy = _follow(fetch, first, settle=lambda: time.sleep(CLIENT_WORK_SECONDS))
        again = _follow(fetch, first, settle=None, same_page=True)
    label = "SF 2,000-record query page (cursor), first read, following nextRecordsUrl"
    work = f"decodes + {CLIENT_WORK_SECONDS * 1000:.0f} ms of its own work per page"
    return [
        (f"{label}: HTTPS round trip, sandbox in its own process, client only decodes",
         trips.text(), _verdict(trips, True)),
        (f"{label}: HTTPS round trip, sandbox in its own process, client {work}",
         busy.text(), _verdict(busy, True)),
        ("SF 2,000-record query page read again: HTTPS round trip, sandbox in its own process "
         "(the transfer's floor)", again.text(), ""),
    ]  # fmt: skip


def run(*, deals: int) -> list[tuple[str, str, str]]:
    """Rows (measure, value, verdict) of the page benchmark at `deals` per CRM."""
    started = time.perf_counter()
    with SandboxServer(deals=deals, seed=0) as server:
        ready = time.perf_counter() - started
        bench = PageBench(server)
        bench.rows.append((f"in-process sandbox with {deals:,} deals/CRM ready", f"{ready:.1f} s",
                           ""))  # fmt: skip
        salesforce(bench)
        salesforce_bulk_history(bench)
        hubspot(bench)
        bench.rows.append(("  peak RSS of the page benchmark", f"{own_peak_rss_mb():,.0f} MB",
                           ""))  # fmt: skip
        bench.session.close()
    return [*bench.rows, *salesforce_own_process(deals=deals)]
