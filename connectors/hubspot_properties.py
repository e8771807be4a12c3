"""Which deal properties a sync requests, and how they fit a GET URL. Pure.

The properties API is read once per connector: the sync asks only for properties the portal
has (flag properties and `hs_forecast_category` may be missing), plus every
`hs_v2_date_entered_<stage>` (the lossy history fallback). Listing is a GET whose properties
ride in the URL: the names that fit `max_properties_query_chars` go there (the defaults
always fit), and any remainder is fetched for the page's ids by POST batch read, whose body
has no length limit, then merged. Search and batch read are POSTs and carry every name.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from urllib.parse import quote

from connectors.hubspot_flatten import DEAL_PROPERTIES, STAGE_ENTERED_PREFIXES

ALWAYS_RETURNED = frozenset({"hs_object_id", "createdate", "hs_lastmodifieddate"})


def select_deal_properties(
    available: Collection[str] | None, *, flag_properties: Iterable[str]
) -> list[str]:
    """The deal properties to request: wanted ones the portal has, flags, stage-entry dates.

    `available` None means the properties API could not be read: request the standard ones.
    """
    flags = list(flag_properties)
    if available is None:
        return [p for p in DEAL_PROPERTIES if p != "hs_forecast_category"]
    wanted = [p for p in (*DEAL_PROPERTIES, *flags) if p in available or p in ALWAYS_RETURNED]
    entered = sorted(p for p in available if p.startswith(STAGE_ENTERED_PREFIXES[0]))
    return list(dict.fromkeys([*wanted, *entered]))


def query_chars(name: str) -> int:
    """Characters one `&properties=<name>` adds to a GET URL."""
    return len("&properties=") + len(quote(name, safe=""))


def split_for_query(names: Sequence[str], *, max_chars: int) -> tuple[list[str], list[str]]:
    """Names that fit `max_chars` of query string (in order), and the rest for a POST read."""
    in_query: list[str] = []
    rest: list[str] = []
    used = 0
    for name in names:
        cost = query_chars(name)
        if not rest and used + cost <= max_chars:
            in_query.append(name)
            used += cost
        else:
            rest.append(name)
    return in_query, rest


def merge_properties(deals: list[dict], extra: Mapping[str, Mapping[str, object]]) -> list[dict]:
    """Deals with the properties of `extra[id]` added (the POST-read remainder)."""
    merged = []
    for deal in deals:
        more = extra.get(str(deal.get("id")))
        if more:
            deal = {**deal, "properties": {**(deal.get("properties") or {}), **more}}
        merged.append(deal)
    return merged
