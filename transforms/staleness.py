"""Stale-deal rules (stale-deals.md): which open deals to flag, why, and since when.

Rules: stuck_in_stage (whole days in the current stage > the learned or configured threshold),
no_activity (days since last activity, or since the last change that was not one of the
toolkit's own flag writes, > N), past_close_date (close date more than N days before today in
the reporting time zone). Each flag carries a reason with the numbers, cut to the CRM field's
length.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from transforms.dtypes import MONEY
from transforms.fiscal import local_date, require_utc_instant
from transforms.metrics_inputs import prepare_deals, require_columns, utc_timestamps
from transforms.metrics_stage_flow import lookup
from transforms.stages import STAGE_NAMES
from transforms.staleness_thresholds import RULES, StalenessConfig, learn_thresholds

__all__ = [
    "RULES",
    "StalenessConfig",
    "detect_stale",
    "flagged_since",
    "learn_thresholds",
    "truncate_reason",
]

ELLIPSIS = "…"
REASON_SEPARATOR = "; "
RULE_SEPARATOR = ";"
_NANOS_PER_DAY = 86_400 * 1_000_000_000
FLAG_COLUMNS: tuple[str, ...] = (
    "deal_key",
    "source",
    "pipeline",
    "owner_email",
    "stage_number",
    "rules",
    "reason",
    "days_in_stage",
    "threshold_days",
    "threshold_basis",
    "days_without_activity",
    "days_past_close",
    "amount_reporting",
)


def truncate_reason(text: str, field_length: int) -> str:
    """`text` cut to `field_length` characters, ending in '…' when it was cut."""
    if field_length < 1:
        raise ValueError(f"field_length must be at least 1, got {field_length!r}")
    if len(text) <= field_length:
        return text
    return text[: field_length - 1] + ELLIPSIS


def _excluded(deals: pd.DataFrame, config: StalenessConfig) -> pd.Series:
    owners = {e.strip().lower() for e in config.exclude_owner_emails}
    excluded = deals["deal_key"].isin(config.exclude_deal_keys)
    if owners:  # the per-row email normalising only when some owner is excluded
        emails = deals["owner_email"].map(lambda e: "" if pd.isna(e) else str(e).strip().lower())
        excluded = excluded | emails.isin(owners)
    return (
        excluded
        | deals["pipeline_key"].isin(config.exclude_pipelines)
        | deals["pipeline"].astype(str).isin({p for p in config.exclude_pipelines if ":" not in p})
    )


def _last_real_change(
    deals: pd.DataFrame, writes: pd.DataFrame | None, tolerance: dt.timedelta
) -> pd.Series:
    """Per deal: last_modified_at, unless that stamp is one of the toolkit's own flag writes."""
    modified = deals["last_modified_at"]
    if writes is None or len(writes) == 0:
        return modified
    require_columns(writes, ["deal_key", "written_at"], name="flag_write_times")
    frame = pd.DataFrame(
        {
            "deal_key": writes["deal_key"].tolist(),
            "written_at": utc_timestamps(
                writes["written_at"].reset_index(drop=True), name="written_at"
            ),
            "modified_before": (
                utc_timestamps(
                    writes["modified_before"].reset_index(drop=True), name="modified_before"
                )
                if "modified_before" in writes.columns
                else pd.Series(pd.NaT, index=range(len(writes)), dtype="datetime64[us, UTC]")
            ),
        }
    )
    joined = frame.merge(
        pd.DataFrame({"deal_key": deals["deal_key"], "modified": modified}), on="deal_key"
    )
    ours = joined[
        (joined["modified"] >= joined["written_at"])
        & (joined["modified"] <= joined["written_at"] + tolerance)
    ]
    attributed = set(ours["deal_key"])
    before = ours.groupby("deal_key")["modified_before"].max()
    fallback = pd.concat(
        [
            lookup(deals["deal_key"], before).astype("datetime64[us, UTC]"),
            deals["stage_entered_at"],
            deals["created_at"],
        ],
        axis=1,
    ).max(axis=1)
    return modified.where(~deals["deal_key"].isin(attributed), fallback)


def _threshold(
    source: str,
    stage: int,
    table: dict[tuple[str, int], tuple[int, str, int]],
    config: StalenessConfig,
) -> tuple[int, str, int]:
    found = table.get((source, stage))
    if found is not None:
        return found
    configured = config.configured_days(source, stage)
    if configured is not None:
        return configured, "configured", 0
    return config.default_days, "default", 0


def _basis_text(basis: str, stays: int, config: StalenessConfig) -> str:
    if basis == "p90":
        label = f"p{round(config.percentile * 100)}"
        return f"{label} of {stays} past stays"
    return basis


def _days_since(as_of: pd.Timestamp, stamps: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Whole days (floored) from each stamp to `as_of`, and where the stamp is missing."""
    missing = stamps.isna().to_numpy(dtype=bool)
    nanos = stamps.astype("datetime64[ns, UTC]").to_numpy(dtype="datetime64[ns]").view("int64")
    days = np.floor_divide(as_of.value - nanos, _NANOS_PER_DAY)
    return np.where(missing, 0, days), missing


def _thresholds_of(
    sources: list[Any],
    stages: list[Any],
    table: dict[tuple[str, int], tuple[int, str, int]],
    config: StalenessConfig,
) -> list[tuple[int, str, int] | None]:
    """Each deal's (threshold, basis, stays) for its (source, stage); None without a stage."""
    memo: dict[tuple[Any, Any], tuple[int, str, int] | None] = {}
    out: list[tuple[int, str, int] | None] = []
    for source, stage in zip(sources, stages, strict=True):
        key = (source, stage)
        if key not in memo:
            memo[key] = (
                None if pd.isna(stage) else _threshold(str(source), int(stage), table, config)
            )
        out.append(memo[key])
    return out


def _flag_rows(
    candidates: pd.DataFrame,
    *,
    last_change: pd.Series,
    table: dict[tuple[str, int], tuple[int, str, int]],
    as_of: pd.Timestamp,
    today: dt.date,
    config: StalenessConfig,
    field_length: int,
) -> list[dict[str, Any]]:
    """The flag rows of the candidates some rule flags: day counts as arrays, text per hit."""
    if len(candidates) == 0:
        return []
    in_stage, in_stage_missing = _days_since(as_of, candidates["stage_entered_at"])
    activity, activity_missing = _days_since(as_of, candidates["last_activity_at"])
    changed, changed_missing = _days_since(as_of, last_change.reset_index(drop=True))
    idle = np.where(activity_missing, changed, activity)
    idle_missing = activity_missing & changed_missing
    close_days = candidates["close_day"].tolist()
    close = np.array(close_days, dtype="datetime64[D]")
    past_missing = np.isnat(close)
    past = np.where(past_missing, 0, (np.datetime64(today, "D") - close).astype("int64"))
    thresholds = _thresholds_of(
        candidates["source"].tolist(), candidates["stage_number"].tolist(), table, config
    )
    limit = np.array([-1 if t is None else t[0] for t in thresholds], dtype="int64")
    has_stage = np.array([t is not None for t in thresholds], dtype=bool)
    stuck = np.zeros(len(candidates), dtype=bool)
    if config.stuck_in_stage:
        stuck = has_stage & ~in_stage_missing & (in_stage > limit)
    inactive = np.zeros(len(candidates), dtype=bool)
    if config.no_activity:
        inactive = ~idle_missing & (idle > config.no_activity_days)
    overdue = np.zeros(len(candidates), dtype=bool)
    if config.past_close_date:
        overdue = ~past_missing & (past > config.past_close_days)
    hits = np.flatnonzero(stuck | inactive | overdue)
    columns = {
        name: candidates[name].to_numpy(dtype=object)[hits].tolist()
        for name in ("deal_key", "source", "pipeline", "owner_email", "stage_number")
    }
    amounts = candidates["amount_reporting"].to_numpy(dtype=object)[hits].tolist()
    rows: list[dict[str, Any]] = []
    for n, i in enumerate(hits.tolist()):
        rules: list[str] = []
        reasons: list[str] = []
        days_in_stage = None if in_stage_missing[i] else int(in_stage[i])
        threshold = thresholds[i]
        if stuck[i]:
            stage = int(columns["stage_number"][n])
            rules.append("stuck_in_stage")
            name = STAGE_NAMES.get(stage, f"stage {stage}")
            reasons.append(
                f"stuck_in_stage: {days_in_stage} days in {name} "
                f"(threshold {threshold[0]}, {_basis_text(threshold[1], threshold[2], config)})"
            )
        days_idle = None if idle_missing[i] else int(idle[i])
        if inactive[i]:
            idle_text = (
                f"{days_idle} days since last activity"
                if not activity_missing[i]
                else f"no activity logged, {days_idle} days since last change"
            )
            rules.append("no_activity")
            reasons.append(f"no_activity: {idle_text} (threshold {config.no_activity_days})")
        days_past = None if past_missing[i] else int(past[i])
        if overdue[i]:
            rules.append("past_close_date")
            reasons.append(
                f"past_close_date: close date {close_days[i].isoformat()} is {days_past} days "
                f"past (threshold {config.past_close_days})"
            )
        rows.append(
            {
                "deal_key": columns["deal_key"][n],
                "source": columns["source"][n],
                "pipeline": columns["pipeline"][n],
                "owner_email": columns["owner_email"][n],
                "stage_number": columns["stage_number"][n],
                "rules": RULE_SEPARATOR.join(rules),
                "reason": truncate_reason(REASON_SEPARATOR.join(reasons), field_length),
                "days_in_stage": days_in_stage,
                "threshold_days": None if threshold is None else threshold[0],
                "threshold_basis": None if threshold is None else threshold[1],
                "days_without_activity": days_idle,
                "days_past_close": days_past,
                "amount_reporting": amounts[n],
            }
        )
    return rows


def detect_stale(
    *,
    deals: pd.DataFrame,
    thresholds: pd.DataFrame | None,
    as_of: pd.Timestamp,
    config: StalenessConfig,
    field_length: int = 255,
    flag_write_times: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The open, non-deleted, non-excluded deals a rule flags, with rules and a readable reason."""
    as_of = require_utc_instant(as_of)
    prepared = prepare_deals(deals)
    candidates = prepared[(prepared["status"] == "open") & ~_excluded(prepared, config)]
    today = local_date(as_of, config.reporting_tz)
    table: dict[tuple[str, int], tuple[int, str, int]] = {}
    if thresholds is not None and len(thresholds):
        require_columns(
            thresholds, ["source", "stage_number", "threshold_days", "basis"], name="thresholds"
        )
        counts = (
            thresholds["stays_count"]
            if "stays_count" in thresholds.columns
            else [0] * len(thresholds)
        )
        for source, stage, days, basis, n in zip(
            thresholds["source"],
            thresholds["stage_number"],
            thresholds["threshold_days"],
            thresholds["basis"],
            counts,
            strict=True,
        ):
            table[(str(source), int(stage))] = (int(days), str(basis), int(n))
    tolerance = dt.timedelta(seconds=config.flag_write_tolerance_seconds)
    last_change = _last_real_change(candidates, flag_write_times, tolerance)
    rows = _flag_rows(
        candidates,
        last_change=last_change,
        table=table,
        as_of=as_of,
        today=today,
        config=config,
        field_length=field_length,
    )
    frame = pd.DataFrame(rows, columns=list(FLAG_COLUMNS))
    for column in (
        "stage_number",
        "days_in_stage",
        "threshold_days",
        "days_without_activity",
        "days_past_close",
    ):
        frame[column] = pd.array(frame[column].tolist(), dtype="Int64")
    frame["amount_reporting"] = pd.Series(
        frame["amount_reporting"].tolist(), index=frame.index, dtype=MONEY
    )
    return frame


def flagged_since(
    previous_flags: pd.DataFrame | None, detected: pd.DataFrame, today: dt.date
) -> pd.DataFrame:
    """`detected` with `flagged_since`: the first day of each deal's current unbroken flag run.

    A deal flagged in the previous run keeps that run's start; any other deal starts today.
    `previous_flags` has deal_key and flagged_since, and optionally a bool `flagged` column.
    """
    require_columns(detected, ["deal_key"], name="detected")
    since: dict[str, dt.date] = {}
    if previous_flags is not None and len(previous_flags):
        require_columns(previous_flags, ["deal_key", "flagged_since"], name="previous_flags")
        still = (
            previous_flags["flagged"]
            .astype(object)
            .where(previous_flags["flagged"].notna(), False)
            .astype(bool)
            if "flagged" in previous_flags.columns
            else pd.Series(True, index=previous_flags.index)
        )
        for key, start, flagged in zip(
            previous_flags["deal_key"], previous_flags["flagged_since"], still, strict=True
        ):
            if not flagged or start is None or pd.isna(start):
                continue
            day = start.date() if isinstance(start, dt.datetime) else start
            since[str(key)] = min(day, today)
    out = detected.copy()
    out["flagged_since"] = pd.Series(
        [since.get(str(k), today) for k in out["deal_key"]], index=out.index, dtype=object
    )
    return out
