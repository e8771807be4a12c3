"""Stale-deal rules (stale-deals.md): which open deals to flag, why, and since when.

Rules: stuck_in_stage (whole days in the current stage > the learned or configured threshold),
no_activity (days since last activity, or since the last change that was not one of the
toolkit's own flag writes, > N), past_close_date (close date more than N days before today in
the reporting time zone). Each flag carries a reason with the numbers, cut to the CRM field's
length.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

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


def _whole_days(later: pd.Timestamp, earlier: Any) -> int | None:
    if earlier is None or pd.isna(earlier):
        return None
    return math.floor((later - earlier).total_seconds() / 86_400)


def _excluded(deals: pd.DataFrame, config: StalenessConfig) -> pd.Series:
    owners = {e.strip().lower() for e in config.exclude_owner_emails}
    emails = deals["owner_email"].map(lambda e: "" if pd.isna(e) else str(e).strip().lower())
    return (
        deals["deal_key"].isin(config.exclude_deal_keys)
        | emails.isin(owners)
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
    rows: list[dict[str, Any]] = []
    for position, deal in enumerate(candidates.itertuples(index=False)):
        rules: list[str] = []
        reasons: list[str] = []
        days_in_stage = _whole_days(as_of, deal.stage_entered_at)
        threshold: tuple[int, str, int] | None = None
        if not pd.isna(deal.stage_number):
            stage = int(deal.stage_number)
            threshold = _threshold(str(deal.source), stage, table, config)
            if config.stuck_in_stage and days_in_stage is not None and days_in_stage > threshold[0]:
                rules.append("stuck_in_stage")
                name = STAGE_NAMES.get(stage, f"stage {stage}")
                reasons.append(
                    f"stuck_in_stage: {days_in_stage} days in {name} "
                    f"(threshold {threshold[0]}, {_basis_text(threshold[1], threshold[2], config)})"
                )
        idle = _whole_days(as_of, deal.last_activity_at)
        if idle is not None:
            idle_text = f"{idle} days since last activity"
        else:
            idle = _whole_days(as_of, last_change.iloc[position])
            idle_text = f"no activity logged, {idle} days since last change"
        if config.no_activity and idle is not None and idle > config.no_activity_days:
            rules.append("no_activity")
            reasons.append(f"no_activity: {idle_text} (threshold {config.no_activity_days})")
        past = None if deal.close_day is None else (today - deal.close_day).days
        if config.past_close_date and past is not None and past > config.past_close_days:
            rules.append("past_close_date")
            reasons.append(
                f"past_close_date: close date {deal.close_day.isoformat()} is {past} days past "
                f"(threshold {config.past_close_days})"
            )
        if not rules:
            continue
        rows.append(
            {
                "deal_key": deal.deal_key,
                "source": deal.source,
                "pipeline": deal.pipeline,
                "owner_email": deal.owner_email,
                "stage_number": deal.stage_number,
                "rules": RULE_SEPARATOR.join(rules),
                "reason": truncate_reason(REASON_SEPARATOR.join(reasons), field_length),
                "days_in_stage": days_in_stage,
                "threshold_days": None if threshold is None else threshold[0],
                "threshold_basis": None if threshold is None else threshold[1],
                "days_without_activity": idle,
                "days_past_close": past,
                "amount_reporting": deal.amount_reporting,
            }
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
