"""Nightly stale detection into `stale_deal_flags`, with the flag lifecycle; no CRM writes.

proposed -> pushed by a push; a flagged deal no longer stale -> cleared (the next push removes
the toolkit's flag); an admin's untick of a flag the toolkit set, seen by the sync while the
deal's stage is unchanged -> dismissed, respected until the stage changes.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import sqlalchemy as sa

from pipelines_etl.config import AppConfig, ConfigError
from pipelines_etl.flags.values import (
    FLAGGING_STATES,
    REASON_LENGTHS,
    FlagValues,
    known_values,
    toolkit_flag_on,
)
from transforms.fiscal import local_date, require_utc_instant
from transforms.stages import STAGES
from transforms.staleness import StalenessConfig, detect_stale, flagged_since, learn_thresholds
from warehouse.deal_frames import DealFrames
from warehouse.flags import (
    DEAL_COLUMNS,
    FLAG_ROW_COLUMNS,
    STAY_COLUMNS,
    read_flag_rows,
    read_flag_write_times,
    save_flag_rows,
    touch_flag_rows,
)
from warehouse.frames import read_frame, typed_to_objects
from warehouse.schema import deal_stage_history
from warehouse.schema import deals as deals_table

_STAGE_BY_KEY = {stage.key: stage.number for stage in STAGES}


@dataclass(frozen=True)
class DetectResult:
    """What a detection run decided: counts overall and per source, and the flagged deals."""

    as_of: pd.Timestamp
    flagged: int = 0  # deals flagged now (proposed or pushed)
    new: int = 0  # of which newly flagged this run
    cleared: int = 0  # flags that ended this run
    dismissed: int = 0  # admins' unticks seen this run
    by_source: Mapping[str, Mapping[str, int]] = field(default_factory=dict)  # state counts
    flags: pd.DataFrame = field(default_factory=pd.DataFrame)  # detect_stale's frame


def _stage_number(key: str) -> int:
    if key.isdigit() and 1 <= int(key) <= 7:
        return int(key)
    if key in _STAGE_BY_KEY:
        return _STAGE_BY_KEY[key]
    raise ConfigError(
        f"staleness.stuck_in_stage_days: unknown stage {key!r} "
        f"(expected one of {', '.join(_STAGE_BY_KEY)}, or source:stage)"
    )


def staleness_config(app_config: AppConfig) -> StalenessConfig:
    """The transforms' StalenessConfig from the configuration file's `staleness` section."""
    conf = app_config.staleness
    stage_days: dict[int, int] = {}
    source_stage_days: dict[tuple[str, int], int] = {}
    for key, days in conf.stuck_in_stage_days.items():
        source, _, stage = key.rpartition(":")
        if source:
            source_stage_days[(source, _stage_number(stage))] = days
        else:
            stage_days[_stage_number(stage)] = days
    try:
        return StalenessConfig(
            stuck_in_stage=conf.stuck_in_stage,
            no_activity=conf.no_activity,
            past_close_date=conf.past_close_date,
            stage_days=stage_days,
            source_stage_days=source_stage_days,
            default_days=conf.stuck_default_days,
            min_days=conf.stuck_min_days,
            no_activity_days=conf.no_activity_days,
            past_close_days=conf.past_close_date_days,
            exclude_deal_keys=frozenset(conf.exclude_deals),
            exclude_owner_emails=frozenset(conf.exclude_owners),
            exclude_pipelines=frozenset(conf.exclude_pipelines),
            reporting_tz=app_config.reporting_timezone,
        )
    except ValueError as error:
        raise ConfigError(f"staleness: {error}") from None


def _detect(
    deals: pd.DataFrame,
    stays: pd.DataFrame,
    writes: pd.DataFrame,
    *,
    as_of: pd.Timestamp,
    config: StalenessConfig,
) -> pd.DataFrame:
    """detect_stale over every source, the reason cut to each CRM's reason field length."""
    thresholds = learn_thresholds(stays, deals, as_of=as_of, config=config)
    frames = []
    for source_type, group in deals.groupby("source_type", sort=True):
        frames.append(
            detect_stale(
                deals=group.reset_index(drop=True),
                thresholds=thresholds,
                as_of=as_of,
                config=config,
                field_length=REASON_LENGTHS.get(str(source_type), 255),
                flag_write_times=writes,
            )
        )
    if not frames:
        return detect_stale(deals=deals, thresholds=None, as_of=as_of, config=config)
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _snapshot(deal: Mapping[str, Any], known: FlagValues) -> dict[str, Any]:
    """The values a push compares its re-read with: the deal as detection saw it."""
    return {
        "source_stage_at_detection": deal.get("source_stage"),
        "stage_number_at_detection": deal.get("stage_number"),
        "amount_at_detection": deal.get("amount"),
        "close_date_at_detection": deal.get("close_date"),
        "owner_id_at_detection": deal.get("owner_id"),
        "crm_flag_stale_at_detection": known.flagged,
        "crm_flag_reason_at_detection": known.reason,
        "crm_flag_since_at_detection": known.since,
    }


def _joined(row: Mapping[str, Any], deal: Mapping[str, Any] | None) -> dict[str, Any]:
    """A flag row with its deal's values under `deal_*` keys (what known_values reads)."""
    joined = dict(row)
    for name in ("source_stage", "is_deleted", "flag_stale", "flag_reason", "flag_since",
                 "synced_at"):  # fmt: skip
        joined[f"deal_{name}"] = None if deal is None else deal.get(name)
    return joined


def _untick_seen(row: Mapping[str, Any], deal: Mapping[str, Any]) -> bool:
    """The sync read the flag off after the toolkit set it, the stage as when it was set."""
    synced_at, pushed_at = deal.get("synced_at"), row.get("pushed_at")
    return (
        row.get("state") == "pushed"
        and toolkit_flag_on(row)
        and synced_at is not None
        and pushed_at is not None
        and synced_at > pushed_at
        and deal.get("flag_stale") is False
        and deal.get("source_stage") == row.get("source_stage_at_detection")
        and not deal.get("is_deleted")
    )


def next_flag_rows(
    *,
    previous: Mapping[str, Mapping[str, Any]],
    detected: pd.DataFrame,
    deals: Mapping[str, Mapping[str, Any]],
    now: dt.datetime,
) -> tuple[list[dict[str, Any]], Counter[str]]:
    """The flag rows that change this run, and counts (new, cleared, dismissed). Pure.

    `detected` has detect_stale's columns plus `flagged_since`; `deals` maps deal_key to the
    warehouse row; `previous` holds the current `stale_deal_flags` rows.
    """
    found = {str(r["deal_key"]): r for r in detected.to_dict("records")}
    counts: Counter[str] = Counter()
    out: list[dict[str, Any]] = []
    for key in sorted(set(previous) | set(found)):
        prev, hit, deal = previous.get(key), found.get(key), deals.get(key)
        if prev is None and deal is None:
            continue
        row: dict[str, Any] = dict(prev) if prev is not None else {
            "deal_key": key, "source": hit["source"] if hit else deal["source"],  # type: ignore[index]
            "source_id": deal["source_id"] if deal else key.split(":", 1)[-1], "attempts": 0,
        }  # fmt: skip
        state = row.get("state")
        stage = None if deal is None else deal.get("source_stage")
        if state == "dismissed":
            if (
                deal is not None
                and not deal.get("is_deleted")
                and stage == row.get("dismissed_stage")
            ):
                continue  # the admin's decision holds while the stage is the same
            state = None
            row.update(dismissed_stage=None)
        elif deal is not None and _untick_seen(row, deal):
            row.update(state="dismissed", dismissed_at=now, dismissed_stage=stage)
            counts["dismissed"] += 1
            out.append(row)
            continue
        known = known_values(_joined(row, deal)) if deal is not None else FlagValues()
        if hit is not None:
            desired = FlagValues(True, hit["reason"], hit["flagged_since"])
            if state not in FLAGGING_STATES:
                counts["new"] += 1
            row.update(
                rules=hit["rules"],
                reason=hit["reason"],
                flagged_since=hit["flagged_since"],
                state="pushed" if known == desired else "proposed",
                cleared_at=None,
            )
        elif state in FLAGGING_STATES or state is None:
            gone = deal is None or bool(deal.get("is_deleted"))
            pending = toolkit_flag_on(row) and not gone
            counts["cleared"] += state in FLAGGING_STATES
            row.update(state="cleared", cleared_at=None if pending else now)
        elif not (toolkit_flag_on(row) and row.get("cleared_at") is None):
            continue  # cleared earlier, nothing left to do
        if deal is not None:
            if prev is not None and prev.get("source_stage_at_detection") != stage:
                row.update(attempts=0, last_error=None, gave_up_at=None)
            row.update(_snapshot(deal, known))
        row["detected_at"] = now
        out.append(row)
    return out, counts


# Columns a nightly re-detection of an unchanged flag rewrites (updated_at: bookkeeping).
_TOUCHED_COLUMNS = frozenset({"detected_at", "updated_at"})


def _same(value: Any, other: Any) -> bool:
    """Equal values of one type (anything doubtful counts as a change: the row is saved)."""
    try:
        return type(value) is type(other) and bool(value == other)
    except (TypeError, ValueError):
        return False


def _split_touched(
    rows: Iterable[Mapping[str, Any]],
    previous: Mapping[str, Mapping[str, Any]],
    *,
    now: dt.datetime,
) -> tuple[list[Mapping[str, Any]], list[str]]:
    """The rows to save whole, and the keys of those whose only change is `detected_at` (most
    flags, night after night): those need one narrow UPDATE, not a rewrite of every column."""
    changed: list[Mapping[str, Any]] = []
    touched: list[str] = []
    for row in rows:
        prev = previous.get(str(row["deal_key"]))
        same = (
            prev is not None
            and _same(row.get("detected_at"), now)
            and _same(row.get("attempts") or 0, prev.get("attempts"))
            and all(
                _same(row.get(name), prev.get(name))
                for name in FLAG_ROW_COLUMNS
                if name not in _TOUCHED_COLUMNS and name != "attempts"
            )
        )
        if same:
            touched.append(str(row["deal_key"]))
        else:
            changed.append(row)
    return changed, touched


def _state_counts(rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    by_source: dict[str, dict[str, int]] = {}
    for row in rows:
        states = by_source.setdefault(row["source"], {})
        states[row["state"]] = states.get(row["state"], 0) + 1
    return by_source


def detect_stale_deals(
    engine: sa.Engine,
    *,
    app_config: AppConfig,
    now: pd.Timestamp | None = None,
    frames: DealFrames | None = None,
) -> DetectResult:
    """Compute tonight's stale flags into `stale_deal_flags` (no CRM writes; caller holds the
    warehouse lock, as the sync does). `frames`: the deals and stays already read (the sync
    reads them once for detection and the metrics); read here when not given."""
    as_of = require_utc_instant(now if now is not None else pd.Timestamp.now(tz="UTC"))
    config = staleness_config(app_config)
    with engine.begin() as conn:
        # The columns of read_deals_frame / read_stays_frame, typed a column at a time
        # (detection takes typed frames as it takes object ones, in a fraction of the memory).
        if frames is None:
            deals = read_frame(conn, deals_table, DEAL_COLUMNS, order_by=["deal_key"])
            stays = read_frame(conn, deal_stage_history, STAY_COLUMNS)
        else:
            deals = frames.deal_columns(DEAL_COLUMNS, by_key=True)
            stays = frames.stay_columns(STAY_COLUMNS)
        writes = read_flag_write_times(conn)
        previous = read_flag_rows(conn)
        detected = _detect(deals, stays, writes, as_of=as_of, config=config)
        before = pd.DataFrame(
            [
                {"deal_key": k, "flagged_since": r["flagged_since"],
                 "flagged": r["state"] in FLAGGING_STATES}
                for k, r in previous.items()
            ],
            columns=["deal_key", "flagged_since", "flagged"],
        )  # fmt: skip
        detected = flagged_since(before, detected, local_date(as_of, config.reporting_tz))
        # next_flag_rows looks up only deals with a flag now or before.
        wanted = set(previous) | {str(key) for key in detected["deal_key"]}
        # ... as the Python values the warehouse types return (UTC datetime, Decimal, None).
        flagged = typed_to_objects(deals[deals["deal_key"].isin(wanted)], deals_table)
        by_key = {str(r["deal_key"]): r for r in flagged.to_dict("records")}
        rows, counts = next_flag_rows(
            previous=previous, detected=detected, deals=by_key, now=as_of.to_pydatetime()
        )
        changed, touched = _split_touched(rows, previous, now=as_of.to_pydatetime())
        save_flag_rows(conn, changed)
        touch_flag_rows(conn, touched, as_of.to_pydatetime())
        # the table after the save: the rows read before, each replaced by its saved version
        by_source = _state_counts({**previous, **{str(r["deal_key"]): r for r in rows}}.values())
    return DetectResult(
        as_of=as_of,
        flagged=sum(
            n for states in by_source.values() for s, n in states.items() if s in FLAGGING_STATES
        ),
        new=counts["new"],
        cleared=counts["cleared"],
        dismissed=counts["dismissed"],
        by_source=by_source,
        flags=detected,
    )
