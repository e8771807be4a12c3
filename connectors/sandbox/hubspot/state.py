"""The HubSpot sandbox's world: deals, companies, owners, pipelines, properties, and indexes."""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass, field
from typing import Any

from connectors.sandbox.hubspot.catalog import PropertyDef
from connectors.sandbox.hubspot.derive import StageEntry


@dataclass(slots=True)
class HistoryEntry:
    """One value a property had (other than dealstage, whose history is `Deal.stages`)."""

    value: str | None
    ms: int
    source_type: str


@dataclass(slots=True)
class Deal:
    """One deal: non-null property values as strings, its stage history and associations."""

    id: str
    props: dict[str, str]
    stages: list[StageEntry]  # dealstage history, oldest first
    companies: tuple[str, ...] = ()
    archived: bool = False
    archived_at: str | None = None
    created_at: str = ""
    modified_ms: int = 0
    history: dict[str, list[HistoryEntry]] = field(default_factory=dict)  # oldest first


@dataclass(slots=True)
class Company:
    """One company."""

    id: str
    props: dict[str, str]
    created_at: str
    updated_at: str


class HubSpotState:
    """Everything the portal holds, with the sorted indexes the endpoints page through."""

    def __init__(
        self,
        *,
        pipelines: list[dict[str, Any]],
        properties: dict[str, PropertyDef],
        owners: list[dict[str, Any]],
        companies: list[Company],
        deals: list[Deal],
    ) -> None:
        self.lock = threading.RLock()
        self.pipelines = pipelines
        self.stages: dict[str, tuple[str, dict[str, Any]]] = {
            stage["id"]: (pipeline["id"], stage)
            for pipeline in pipelines
            for stage in pipeline["stages"]
        }
        self.properties = properties
        self.owners = owners
        self.owner_ids = frozenset(owner["id"] for owner in owners)
        self.companies = {company.id: company for company in companies}
        self.company_ids = sorted(int(company.id) for company in companies)
        self.deals = {deal.id: deal for deal in deals}
        self.active_ids = sorted(int(deal.id) for deal in deals if not deal.archived)
        self.archived_ids = sorted(int(deal.id) for deal in deals if deal.archived)
        self.by_modified = sorted(
            (deal.modified_ms, int(deal.id)) for deal in deals if not deal.archived
        )

    def stage_in_pipeline(self, stage_id: str, pipeline_id: str) -> dict[str, Any] | None:
        """The stage definition, when the stage belongs to that pipeline."""
        found = self.stages.get(stage_id)
        return found[1] if found and found[0] == pipeline_id else None

    def live_deal(self, deal_id: str, *, archived: bool = False) -> Deal | None:
        """A deal by id, among archived or among live deals."""
        deal = self.deals.get(deal_id)
        return deal if deal is not None and deal.archived == archived else None

    def set_modified(self, deal: Deal, ms: int) -> None:
        """Move a live deal's modification stamp and keep the index sorted (caller holds lock)."""
        key = (deal.modified_ms, int(deal.id))
        index = bisect.bisect_left(self.by_modified, key)
        if index < len(self.by_modified) and self.by_modified[index] == key:
            del self.by_modified[index]
        deal.modified_ms = ms
        bisect.insort(self.by_modified, (ms, int(deal.id)))


def page_after(ids: list[int], *, after: int | None, limit: int) -> tuple[list[int], int | None]:
    """Ids >= after, at most `limit`, and the next `after` when more remain."""
    start = bisect.bisect_left(ids, after) if after is not None else 0
    chunk = ids[start : start + limit]
    more = start + limit < len(ids)
    return chunk, (chunk[-1] + 1 if more and chunk else None)


def add_deal(state: HubSpotState, deal: Deal) -> None:
    """Index a newly created live deal (caller holds the lock)."""
    state.deals[deal.id] = deal
    bisect.insort(state.active_ids, int(deal.id))
    bisect.insort(state.by_modified, (deal.modified_ms, int(deal.id)))


def archive_deal(state: HubSpotState, deal: Deal, *, archived_at: str) -> None:
    """Move a live deal to the archived ones, out of listing and search (caller holds lock)."""
    key = (deal.modified_ms, int(deal.id))
    index = bisect.bisect_left(state.by_modified, key)
    if index < len(state.by_modified) and state.by_modified[index] == key:
        del state.by_modified[index]
    index = bisect.bisect_left(state.active_ids, int(deal.id))
    if index < len(state.active_ids) and state.active_ids[index] == int(deal.id):
        del state.active_ids[index]
    bisect.insort(state.archived_ids, int(deal.id))
    deal.archived = True
    deal.archived_at = archived_at
