"""`POST /crm/v3/objects/deals/search`: filters, sorts, paging, the 10,000-result cap, index lag.

A search filtered on hs_lastmodifieddate alone (the incremental sync's) is answered from the
sorted modification index: its total is the width of the index slice and only the page's
deals are visited. Other searches visit every candidate.
"""

from __future__ import annotations

import bisect
import fnmatch
import re
from collections.abc import Callable
from typing import Any

from connectors.sandbox.api import Response
from connectors.sandbox.hubspot import errors
from connectors.sandbox.hubspot.catalog import PropertyDef
from connectors.sandbox.hubspot.render import name_list, render_deal
from connectors.sandbox.hubspot.state import Deal, HubSpotState
from connectors.sandbox.hubspot.values import parse_instant, parse_number

MAX_LIMIT = 200
MAX_RESULTS = 10_000
MAX_GROUPS, MAX_FILTERS_PER_GROUP, MAX_FILTERS = 5, 10, 25
LAG_MS = 5_000
COMPARISONS = frozenset({"EQ", "NEQ", "LT", "LTE", "GT", "GTE"})
OPERATORS = COMPARISONS | {
    "BETWEEN",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
    "CONTAINS_TOKEN",
    "NOT_CONTAINS_TOKEN",
}
_TOKEN = re.compile(r"[^\w]+")

Predicate = Callable[[Deal], bool]


class SearchError(ValueError):
    """A search request the real API refuses with 400."""


def _converter(prop: PropertyDef | None) -> Callable[[str], Any]:
    kind = prop.type if prop else "string"
    if kind == "number":
        return lambda text: parse_number(str(text))
    if kind in ("datetime", "date"):
        return lambda text: parse_instant(str(text))
    return lambda text: str(text).strip().lower()


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "EQ":
        return left == right
    if op == "NEQ":
        return left != right
    if left is None or right is None:
        return False
    return {"LT": left < right, "LTE": left <= right, "GT": left > right, "GTE": left >= right}[op]


def _tokens_match(value: str, token: str) -> bool:
    token = token.lower()
    if "*" in token:
        return fnmatch.fnmatchcase(value.lower(), token)
    return token in _TOKEN.split(value.lower())


def _predicate(raw: Any, catalog: dict[str, PropertyDef]) -> tuple[str, str, Predicate]:
    if not isinstance(raw, dict) or not isinstance(raw.get("propertyName"), str):
        raise SearchError("Each filter needs a propertyName")
    name, op = raw["propertyName"], raw.get("operator", "EQ")
    if op not in OPERATORS:
        raise SearchError(f"Unknown operator {op!r}")
    convert = _converter(catalog.get(name))

    def current(deal: Deal) -> Any:
        value = deal.props.get(name)
        return None if value is None else convert(value)

    if op in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        want = op == "HAS_PROPERTY"
        return name, op, lambda deal: (deal.props.get(name) is not None) == want
    if op in ("IN", "NOT_IN"):
        values = raw.get("values")
        if not isinstance(values, list) or not values:
            raise SearchError(f"{op} needs a list of values")
        wanted = {convert(v) for v in values}
        inside = op == "IN"
        return name, op, lambda deal: (current(deal) in wanted) == inside
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        token = str(raw.get("value", ""))
        contains = op == "CONTAINS_TOKEN"
        return (
            name,
            op,
            lambda deal: (
                (deal.props.get(name) is not None and _tokens_match(deal.props[name], token))
                == contains
            ),
        )
    if "value" not in raw:
        raise SearchError(f"{op} filter on {name} needs a value")
    low = convert(raw["value"])
    if low is None:
        raise SearchError(f"{raw['value']!r} is not a valid value for {name}")
    if op == "BETWEEN":
        high = convert(raw.get("highValue", ""))
        if high is None:
            raise SearchError(f"BETWEEN filter on {name} needs a highValue")
        return (
            name,
            op,
            lambda deal: (
                _compare("GTE", current(deal), low) and _compare("LTE", current(deal), high)
            ),
        )
    return name, op, lambda deal: _compare(op, current(deal), low)


def _modified_bounds(group: list[dict[str, Any]]) -> tuple[int, int, set[int]]:
    """The exact hs_lastmodifieddate range a filter group allows, and the filters it covers."""
    low, high, covered = -(2**62), 2**62, set()
    for position, raw in enumerate(group):
        op = raw.get("operator")
        if raw.get("propertyName") != "hs_lastmodifieddate" or op not in (*COMPARISONS, "BETWEEN"):
            continue
        value = parse_instant(str(raw.get("value", "")))
        top = parse_instant(str(raw.get("highValue", ""))) if op == "BETWEEN" else value
        if value is None or top is None or op == "NEQ":
            continue
        covered.add(position)
        if op in ("GT", "GTE", "EQ", "BETWEEN"):
            low = max(low, value + 1 if op == "GT" else value)
        if op in ("LT", "LTE", "EQ", "BETWEEN"):
            high = min(high, top - 1 if op == "LT" else top)
    return low, high, covered


def _int(value: Any, default: int, label: str) -> int:
    if value is None or value == "":
        return default
    try:
        return int(str(value))
    except ValueError:
        raise SearchError(f"{label} must be an integer, got {value!r}") from None


def _parse_groups(body: dict[str, Any]) -> list[list[dict[str, Any]]]:
    groups = body.get("filterGroups") or []
    if not isinstance(groups, list):
        raise SearchError("filterGroups must be a list")
    if len(groups) > MAX_GROUPS:
        raise SearchError(f"Maximum number of filterGroups ({MAX_GROUPS}) exceeded: {len(groups)}")
    parsed = []
    for group in groups:
        filters = group.get("filters") if isinstance(group, dict) else None
        if not isinstance(filters, list):
            raise SearchError("Each filterGroup needs a list of filters")
        if len(filters) > MAX_FILTERS_PER_GROUP:
            raise SearchError(
                f"Maximum number of filters per group ({MAX_FILTERS_PER_GROUP}) exceeded"
            )
        parsed.append(filters)
    if sum(len(g) for g in parsed) > MAX_FILTERS:
        raise SearchError(f"Maximum number of filters ({MAX_FILTERS}) exceeded")
    return parsed


def _sort(body: dict[str, Any]) -> tuple[str | None, bool]:
    sorts = body.get("sorts") or []
    if not isinstance(sorts, list):
        raise SearchError("sorts must be a list")
    if not sorts:
        return None, False
    first = sorts[0]
    if isinstance(first, str):
        descending = first.startswith("-")
        return first.lstrip("-"), descending
    if isinstance(first, dict) and isinstance(first.get("propertyName"), str):
        return first["propertyName"], str(
            first.get("direction", "ASCENDING")
        ).upper() == "DESCENDING"
    raise SearchError("Each sort needs a propertyName")


def _narrowed(groups: list[list[dict[str, Any]]]) -> bool:
    """Whether the hs_lastmodifieddate index narrows the candidates: one group with a
    filter on it."""
    return len(groups) == 1 and any(
        f.get("propertyName") == "hs_lastmodifieddate" for f in groups[0]
    )


def _window(
    state: HubSpotState, groups: list[list[dict[str, Any]]]
) -> tuple[int, int, list[list[dict[str, Any]]]]:
    """The slice [start, stop) of `state.by_modified` a narrowed search may match, and the
    filter groups the slice does not cover."""
    low, high, covered = _modified_bounds(groups[0])
    index = state.by_modified
    start = bisect.bisect_left(index, (low, -1))
    stop = max(start, bisect.bisect_right(index, (high, 2**63)))
    rest = [f for i, f in enumerate(groups[0]) if i not in covered]
    return start, stop, [rest] if rest else []


def _matches(
    state: HubSpotState, groups: list[list[dict[str, Any]]], query: str | None
) -> list[Deal]:
    """Live deals matching any group (in modification order when the index narrowed them)."""
    deals = state.deals
    if _narrowed(groups):
        start, stop, groups = _window(state, groups)
        candidates = [deals[str(deal_id)] for _ms, deal_id in state.by_modified[start:stop]]
    else:
        candidates = [deals[str(deal_id)] for deal_id in state.active_ids]
    if groups:
        compiled = [[_predicate(f, state.properties)[2] for f in group] for group in groups]
        candidates = [d for d in candidates if any(all(p(d) for p in group) for group in compiled)]
    if query:
        needle = query.lower()
        candidates = [d for d in candidates if needle in d.props.get("dealname", "").lower()]
    return candidates


def _indexed_page(
    state: HubSpotState,
    groups: list[list[dict[str, Any]]],
    *,
    sort_name: str | None,
    descending: bool,
    after: int,
    limit: int,
    lag_before: int | None,
) -> tuple[list[Deal], int] | None:
    """The page and total of a search the modification index answers alone (one group of
    hs_lastmodifieddate filters only, sorted by it or by id), without visiting the other
    matches; None for any other search. The result equals `_matches` then sorting."""
    if not _narrowed(groups) or sort_name not in (None, "hs_lastmodifieddate"):
        return None
    start, stop, rest = _window(state, groups)
    if rest:
        return None
    index = state.by_modified
    if lag_before is not None:  # the lagging search index: only deals modified before then
        stop = max(start, min(stop, bisect.bisect_right(index, (lag_before, 2**63))))
    total = stop - start
    if sort_name is None:
        ordered = sorted(deal_id for _ms, deal_id in index[start:stop])
        chosen = ordered[after : after + limit]
    elif descending:
        top = stop - after
        chosen = [deal_id for _ms, deal_id in reversed(index[max(start, top - limit) : top])]
    else:
        chosen = [
            deal_id for _ms, deal_id in index[start + after : min(stop, start + after + limit)]
        ]
    return [state.deals[str(deal_id)] for deal_id in chosen], total


def search_deals(state: HubSpotState, body: Any, *, lag: bool, now: int) -> Response:
    """Answer one search request."""
    if not isinstance(body, dict):
        return errors.validation("Invalid input JSON on line 1, column 1")
    try:
        groups = _parse_groups(body)
        for group in groups:
            for raw in group:
                _predicate(raw, state.properties)
        sort_name, descending = _sort(body)
        limit = _int(body.get("limit"), 10, "limit")
        after = _int(body.get("after"), 0, "after")
        if limit < 0 or limit > MAX_LIMIT:
            raise SearchError(f"limit must be between 0 and {MAX_LIMIT}, got {limit}")
        if after < 0:
            raise SearchError("after must be non-negative")
    except SearchError as problem:
        return errors.validation(str(problem))
    if after >= MAX_RESULTS:
        return errors.validation(
            f"There was a problem with the request. Paging beyond {MAX_RESULTS} results is not "
            f"supported (after={after}).",
            context={"after": [str(after)]},
        )
    names = name_list(body.get("properties") or [])
    query = body.get("query") if isinstance(body.get("query"), str) else None
    if not query:
        with state.lock:
            indexed = _indexed_page(
                state,
                groups,
                sort_name=sort_name,
                descending=descending,
                after=after,
                limit=limit,
                lag_before=now - LAG_MS if lag else None,
            )
            if indexed is not None:
                page, total = indexed
                return _page_response(
                    state, page, total=total, names=names, after=after, limit=limit
                )
    with state.lock:
        found = _matches(state, groups, query)
    if lag:
        found = [deal for deal in found if deal.modified_ms <= now - LAG_MS]
    if sort_name is None:
        found.sort(key=lambda deal: int(deal.id))
    elif sort_name != "hs_lastmodifieddate" or not _narrowed(groups):
        convert = _converter(state.properties.get(sort_name))
        keyed = [(convert(d.props.get(sort_name) or ""), d) for d in found]
        present = [(k, d) for k, d in keyed if k is not None and d.props.get(sort_name) is not None]
        chosen = {id(d) for _k, d in present}
        present.sort(key=lambda pair: (pair[0], int(pair[1].id)), reverse=descending)
        found = [d for _k, d in present] + [d for d in found if id(d) not in chosen]
    elif descending:
        found.reverse()
    page = found[after : after + limit]
    return _page_response(state, page, total=len(found), names=names, after=after, limit=limit)


def _page_response(
    state: HubSpotState, page: list[Deal], *, total: int, names: list[str], after: int, limit: int
) -> Response:
    """The search reply: the page's deals, the total, and the next `after` when more remain."""
    payload: dict[str, Any] = {
        "total": total,
        "results": [render_deal(deal, names=names, catalog=state.properties) for deal in page],
    }
    if after + limit < total and limit > 0:
        payload["paging"] = {"next": {"after": str(after + limit)}}
    return Response.json(200, payload)
