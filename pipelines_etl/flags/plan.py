"""What a push would change, per source: flags to set, to update and to clear; the safety limit.

Only changed values are planned: a deal whose known CRM values already equal the desired
ones is not in the plan, so it costs no API call. Deals whose retries were given up, deleted
deals and dismissed flags are left alone.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa

from pipelines_etl.config import SafetyConfig
from pipelines_etl.flags.values import (
    CLEARED,
    FlagValues,
    desired_values,
    known_values,
    toolkit_flag_on,
)
from warehouse.flags import open_deal_counts, read_plan_rows

Action = Literal["set", "update", "clear"]


@dataclass(frozen=True)
class FlagChange:
    """One deal's planned write: the fields that change, from known to desired values."""

    deal_key: str
    source: str
    source_id: str
    action: Action
    known: FlagValues
    desired: FlagValues
    row: Mapping[str, Any]  # the flag row joined with its deal (what the re-read is checked on)

    @property
    def changes(self) -> dict[str, tuple[Any, Any]]:
        """Meaning -> (old, new) of each field written."""
        return self.known.changes_to(self.desired)


@dataclass
class SourcePlan:
    """One source's planned changes, its open deals and the deals it no longer retries."""

    source: str
    changes: list[FlagChange] = field(default_factory=list)
    open_deals: int = 0
    given_up: list[str] = field(default_factory=list)

    def count(self, action: Action) -> int:
        """How many changes of one kind."""
        return sum(1 for change in self.changes if change.action == action)


@dataclass
class FlagPlan:
    """Per source, what a push would write."""

    sources: dict[str, SourcePlan] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Deals a push would write."""
        return sum(len(plan.changes) for plan in self.sources.values())


def _action(known: FlagValues, desired: FlagValues) -> Action:
    if desired.flagged and not known.flagged:
        return "set"
    return "update" if desired.flagged else "clear"


def plan_changes(rows: Sequence[Mapping[str, Any]], *, clear_all: bool = False) -> list[FlagChange]:
    """The writes these plan rows need (pure); `clear_all` removes every toolkit flag instead."""
    out: list[FlagChange] = []
    for row in rows:
        if row.get("deal_source_stage") is None and row.get("deal_status") is None:
            continue  # the deal is not in the warehouse (any more)
        if row.get("deal_is_deleted") or row.get("gave_up_at") is not None:
            continue
        wanted = CLEARED if toolkit_flag_on(row) else None
        desired = wanted if clear_all else desired_values(row)
        if desired is None:
            continue
        known = known_values(row)
        if known == desired:
            continue
        out.append(
            FlagChange(
                deal_key=row["deal_key"],
                source=row["source"],
                source_id=row["source_id"],
                action=_action(known, desired),
                known=known,
                desired=desired,
                row=row,
            )
        )
    return out


def build_plan(
    conn: sa.Connection, *, sources: Collection[str], clear_all: bool = False
) -> FlagPlan:
    """The plan of these sources from the warehouse (flag rows, deals, open deal counts)."""
    rows = read_plan_rows(conn, sources=sources)
    opened = open_deal_counts(conn)
    plan = FlagPlan({name: SourcePlan(name, open_deals=opened.get(name, 0)) for name in sources})
    for change in plan_changes(rows, clear_all=clear_all):
        plan.sources[change.source].changes.append(change)
    for row in rows:
        if row.get("gave_up_at") is not None and not row.get("deal_is_deleted"):
            plan.sources[row["source"]].given_up.append(row["deal_key"])
    return plan


def safety_problems(plan: FlagPlan, safety: SafetyConfig) -> list[str]:
    """One message per source whose new flags exceed the safety limit (share or count)."""
    problems = []
    for name, source in plan.sources.items():
        new = source.count("set")
        by_share = math.floor(safety.max_new_flags_share * source.open_deals)
        allowed = min(by_share, safety.max_new_flags)
        if new <= allowed:
            continue
        problems.append(
            f"{name}: {new} new flags exceed the safety limit of {allowed} "
            f"({safety.max_new_flags_share:.0%} of {source.open_deals} open deals, at most "
            f"{safety.max_new_flags}); nothing was written. If this is expected (a first run "
            "on an old CRM usually is), raise safety.max_new_flags_share (now "
            f"{safety.max_new_flags_share}) or safety.max_new_flags (now {safety.max_new_flags})"
            " in the configuration file PIPELINES_ETL_CONFIG names, then push again"
        )
    return problems
