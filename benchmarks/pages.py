"""Benchmark: one API page at N deals per CRM (default 500,000): the sandbox's own `handle()`
time, and the client round trip over HTTPS with keep-alive (requests.Session), for

- Salesforce: a 2,000-record page of the full Opportunity extract (REST queryAll cursor,
  the sync's field list), read again (the sandbox keeps served records' JSON) and read for
  the first time (distinct pages, as a sync reads them), the query's first call (it runs the
  query over every record), and an OpportunityHistory `IN (200 ids)` read, as the sync
  issues per 200 deals;
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
from connectors.hubspot_flatten import DEFAULT_FLAG_PROPERTIES
from connectors.hubspot_properties import select_deal_properties, split_for_query
from connectors.salesforce_deals import DEAL_FIELDS, HISTORY_FIELDS
from connectors.sandbox.api import Request, Response
from connectors.sandbox.server import SandboxServer

VERSION = "59.0"
REPEAT = 40
FLAG_FIELDS = ("Pipeline_Stale__c", "Pipeline_Stale_Reason__c", "Pipeline_Stale_Since__c")
TARGET_MS = 10.0  # "a few milliseconds", read generously


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
    # First reads: each call a page never served before (nothing of it kept), as a sync reads.
    step = max(2000, (total - 14_000) // (2 * REPEAT + 8))
    pages = itertools.cycle(list(range(10_000, total - 2000, step)) or [0])  # small N: repeats
    bench.measure(
        "SF 2,000-record query page (cursor), first read",
        server=lambda: bench.handle(
            "salesforce", _request("GET", f"{locator}-{next(pages)}", token=token)
        ),
        client=lambda: bench.get(f"{locator}-{next(pages)}", token=token),
    )
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


def run(*, deals: int) -> list[tuple[str, str, str]]:
    """Rows (measure, value, verdict) of the page benchmark at `deals` per CRM."""
    started = time.perf_counter()
    with SandboxServer(deals=deals, seed=0) as server:
        ready = time.perf_counter() - started
        bench = PageBench(server)
        bench.rows.append((f"in-process sandbox with {deals:,} deals/CRM ready", f"{ready:.1f} s",
                           ""))  # fmt: skip
        salesforce(bench)
        hubspot(bench)
        bench.rows.append(("  peak RSS of the page benchmark", f"{own_peak_rss_mb():,.0f} MB",
                           ""))  # fmt: skip
        bench.session.close()
    return bench.rows
