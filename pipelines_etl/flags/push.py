"""Push the planned flag changes: re-read, skip changed deals, batch writes, record every write.

A dry run (the default) only plans. With `apply`: the safety limit is checked per source, the
flag fields must be ready (`crm setup`), the deals are re-read in batches and any deal whose
stage, amount, close date, owner or flag fields changed since detection is skipped (and
evaluated again next run); the rest go to the connector's batch writes. Every field written,
failed or skipped lands in `flag_writes`; a failed record is retried next run, and one that
fails for a reason retrying cannot fix is given up after three runs.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pandas as pd
import pyarrow as pa
import sqlalchemy as sa

from connectors.base import CrmConnector, FlagUpdate, WriteResult
from pipelines_etl.config import AppConfig
from pipelines_etl.failures import failure_message
from pipelines_etl.flags.plan import FlagChange, FlagPlan, build_plan, safety_problems
from pipelines_etl.flags.setup import check_setup, reason_length, require_ready
from pipelines_etl.flags.values import FlagValues, as_date, connect, field_names, text_of
from pipelines_etl.sources import Source
from transforms.deal_validation import parse_deal_columns
from transforms.staleness import truncate_reason
from warehouse.flags import record_flag_writes, update_flag_row
from warehouse.lock import WarehouseLock

GIVE_UP_AFTER_RUNS = 3
NOT_FOUND = "not found in the CRM: deleted or merged since detection"


class SafetyLimitExceeded(RuntimeError):
    """New flags of a source exceed the configured safety limit; nothing was written."""


@dataclass
class SourcePush:
    """How one source's push went."""

    source: str
    sets: int = 0
    updates: int = 0
    clears: int = 0
    written: int = 0
    failed: int = 0
    skipped: int = 0
    gave_up: list[str] = field(default_factory=list)  # deals given up in this run
    given_up: list[str] = field(default_factory=list)  # deals no longer retried (before)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (deal_key, error)
    api_calls: int = 0
    error: str | None = None


@dataclass
class PushResult:
    """One push run: the plan, whether it was applied, and per source what happened."""

    run_id: str
    applied: bool
    plan: FlagPlan
    sources: dict[str, SourcePush] = field(default_factory=dict)
    safety: list[str] = field(default_factory=list)  # safety-limit messages (dry run)

    @property
    def ok(self) -> bool:
        """No source failed as a whole and no record failed."""
        return all(s.error is None and s.failed == 0 for s in self.sources.values())


@dataclass(frozen=True)
class Current:
    """A deal as the re-read shows it, in the warehouse's terms."""

    source_stage: str | None
    amount: Decimal | None
    close_date: Any
    owner_id: str | None
    flags: FlagValues
    last_modified_at: datetime | None


def _plain(values: pd.Series) -> list[Any]:
    if isinstance(values.dtype, pd.ArrowDtype):
        return pa.array(values.array).to_pylist()
    return [None if pd.isna(v) else v for v in values.astype(object).tolist()]


def reread(connector: CrmConnector, source_ids: Sequence[str]) -> dict[str, Current]:
    """The deals as the CRM has them now (batched by the connector), by source id."""
    payloads = connector.read_deals(list(source_ids))
    if not payloads:
        return {}
    frame = connector.flatten_deals(payloads)
    col = parse_deal_columns(deals=frame, default_currency="USD").columns
    stamps = col["last_modified_at"]
    values = {name: _plain(col[name]) for name in (
        "source_id", "source_stage", "amount", "close_date", "owner_id", "flag_stale",
        "flag_reason", "flag_since",
    )}  # fmt: skip
    out: dict[str, Current] = {}
    for i, sid in enumerate(values["source_id"]):
        stamp = stamps.iloc[i]
        out[str(sid)] = Current(
            source_stage=values["source_stage"][i],
            amount=values["amount"][i],
            close_date=values["close_date"][i],
            owner_id=values["owner_id"][i],
            flags=FlagValues.of(
                values["flag_stale"][i], values["flag_reason"][i], values["flag_since"][i]
            ),
            last_modified_at=None if pd.isna(stamp) else stamp.to_pydatetime(),
        )
    return out


def changed_since_detection(change: FlagChange, current: Current) -> list[str]:
    """What changed in the CRM since the data the flag was computed from (empty: nothing)."""
    row = change.row
    changed = []
    if current.source_stage != row.get("source_stage_at_detection"):
        changed.append("stage")
    before = row.get("amount_at_detection")
    if (before is None) != (current.amount is None) or (
        before is not None and Decimal(before) != Decimal(current.amount)  # type: ignore[arg-type]
    ):
        changed.append("amount")
    if as_date(current.close_date) != as_date(row.get("close_date_at_detection")):
        changed.append("close date")
    if (current.owner_id or None) != (row.get("owner_id_at_detection") or None):
        changed.append("owner")
    if current.flags != change.known:
        changed.append("flag fields")
    return changed


def _update(change: FlagChange, names: Mapping[str, str], length: int) -> FlagUpdate:
    fields: dict[str, Any] = {}
    for meaning, (_, new) in change.changes.items():
        if meaning == "reason" and isinstance(new, str):
            new = truncate_reason(new, length)
        fields[meaning] = new
    return FlagUpdate(change.source_id, fields)


def _write_rows(
    change: FlagChange,
    update: FlagUpdate | None,
    *,
    run_id: str,
    names: Mapping[str, str],
    result: str,
    error: str | None,
    retriable: bool | None,
    modified_before: datetime | None,
    written_at: datetime,
) -> list[dict[str, Any]]:
    new_values = (
        update.fields if update is not None else {m: n for m, (_, n) in change.changes.items()}
    )
    return [
        {
            "run_id": run_id,
            "deal_key": change.deal_key,
            "source": change.source,
            "field": names[meaning],
            "old_value": text_of(old),
            "new_value": text_of(new_values.get(meaning, new)),
            "written_at": written_at,
            "result": result,
            "error": error,
            "retriable": retriable,
            "modified_before": modified_before,
        }
        for meaning, (old, new) in change.changes.items()
    ]


def _after_success(
    change: FlagChange, update: FlagUpdate, *, clear_all: bool, now: datetime
) -> dict[str, Any]:
    desired = change.desired
    reason = update.fields.get("reason", desired.reason)
    values: dict[str, Any] = {
        "crm_flag_stale": desired.flagged,
        "crm_flag_reason": reason,
        "crm_flag_since": desired.since,
        "pushed_at": now,
        "attempts": 0,
        "last_error": None,
        "gave_up_at": None,
    }
    if desired.flagged:
        values["state"] = "pushed"
    else:
        values.update(state="cleared", cleared_at=now)
    if clear_all:
        values["state"] = "cleared"
    return values


def _after_failure(change: FlagChange, result: WriteResult) -> tuple[dict[str, Any], bool]:
    attempts = int(change.row.get("attempts") or 0) + 1
    give_up = not result.retriable and attempts >= GIVE_UP_AFTER_RUNS
    values = {"attempts": attempts, "last_error": result.error}
    if give_up:
        values["gave_up_at"] = datetime.now(UTC)
    return values, give_up


def _push_source(
    engine: sa.Engine,
    *,
    connector: CrmConnector,
    changes: Sequence[FlagChange],
    outcome: SourcePush,
    run_id: str,
    names: Mapping[str, str],
    length: int,
    clear_all: bool,
) -> None:
    current = reread(connector, [c.source_id for c in changes])
    to_write: list[tuple[FlagChange, FlagUpdate, Current]] = []
    missing: list[FlagChange] = []
    with engine.begin() as conn:
        for change in changes:
            seen = current.get(change.source_id)
            if seen is None:
                missing.append(change)
                continue
            if clear_all:  # undo: clear whatever the CRM holds now, whatever else moved
                change = replace(change, known=seen.flags)
                if not change.changes:
                    continue
            moved = [] if clear_all else changed_since_detection(change, seen)
            if moved:
                outcome.skipped += 1
                record_flag_writes(conn, _write_rows(
                    change, None, run_id=run_id, names=names, result="skipped",
                    error="changed since detection: " + ", ".join(moved), retriable=None,
                    modified_before=seen.last_modified_at, written_at=datetime.now(UTC),
                ))  # fmt: skip
                continue
            to_write.append((change, _update(change, names, length), seen))
    updates = [update for _, update, _ in to_write]
    # Taken before the call; `written_at` in whole seconds, so that the CRM's modification
    # stamp of our write (milliseconds, another clock) falls after it.
    sent_at = datetime.now(UTC)
    written_at = sent_at.replace(microsecond=0)
    try:
        results = connector.push_flags(updates) if updates else []
    except Exception as error:  # the whole call failed after its retries: retry next run
        outcome.error = failure_message(error)
        results = [WriteResult(u.source_id, False, outcome.error, retriable=True) for u in updates]
    with engine.begin() as conn:
        for change in missing:
            to_write.append((change, _update(change, names, length), None))  # type: ignore[arg-type]
            results.append(WriteResult(change.source_id, False, NOT_FOUND, retriable=False))
        for (change, update, seen), result in zip(to_write, results, strict=True):
            stamp = seen.last_modified_at if seen is not None else None
            if result.success:
                outcome.written += 1
                record_flag_writes(conn, _write_rows(
                    change, update, run_id=run_id, names=names, result="succeeded", error=None,
                    retriable=None, modified_before=stamp, written_at=written_at,
                ))  # fmt: skip
                update_flag_row(
                    conn,
                    change.deal_key,
                    _after_success(change, update, clear_all=clear_all, now=sent_at),
                )
                continue
            outcome.failed += 1
            outcome.failures.append((change.deal_key, result.error or "failed"))
            record_flag_writes(conn, _write_rows(
                change, update, run_id=run_id, names=names, result="failed",
                error=result.error, retriable=result.retriable, modified_before=stamp,
                written_at=written_at,
            ))  # fmt: skip
            values, gave_up = _after_failure(change, result)
            update_flag_row(conn, change.deal_key, values)
            if gave_up:
                outcome.gave_up.append(change.deal_key)


def push_flags(
    engine: sa.Engine,
    *,
    sources: Sequence[Source],
    app_config: AppConfig,
    env: Mapping[str, str],
    apply: bool,
    clear_all: bool = False,
    lock_wait: float | None = 0.0,
    connectors: Mapping[str, CrmConnector] | None = None,
    on_source: Callable[[str], None] | None = None,
) -> PushResult:
    """Plan the flag changes of `sources` and, with `apply`, write them (holds the warehouse
    lock). Raises SafetyLimitExceeded (apply, new flags over the limit) or FlagFieldsMissing."""
    run_id = f"flags-{uuid.uuid4().hex[:12]}"
    names_of = [s.name for s in sources]
    with WarehouseLock(engine, wait=lock_wait):
        with engine.connect() as conn:
            plan = build_plan(conn, sources=names_of, clear_all=clear_all)
        result = PushResult(run_id=run_id, applied=apply, plan=plan)
        result.safety = [] if clear_all else safety_problems(plan, app_config.safety)
        for name, planned in plan.sources.items():
            result.sources[name] = SourcePush(
                name, sets=planned.count("set"), updates=planned.count("update"),
                clears=planned.count("clear"), given_up=list(planned.given_up),
            )  # fmt: skip
        if not apply:
            return result
        if result.safety:
            raise SafetyLimitExceeded("; ".join(result.safety))
        busy = [s for s in sources if plan.sources[s.name].changes]
        made = {
            s.name: (connectors or {}).get(s.name) or connect(s, env=env, app_config=app_config)
            for s in busy
        }
        report = check_setup(busy, app_config=app_config, env=env, connectors=made)
        require_ready(report, [s.name for s in busy])
        for source in busy:
            if on_source is not None:
                on_source(source.name)
            connector, outcome = made[source.name], result.sources[source.name]
            try:
                _push_source(
                    engine,
                    connector=connector,
                    changes=plan.sources[source.name].changes,
                    outcome=outcome,
                    run_id=run_id,
                    names=field_names(source, app_config),
                    length=reason_length(report, source),
                    clear_all=clear_all,
                )
            except Exception as error:  # e.g. the re-read failed: nothing written, next run
                outcome.error = failure_message(error)
            outcome.api_calls = connector.api_calls
    return result
