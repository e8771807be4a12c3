"""Stage-change history -> stays of deals in open canonical stages (deal_stage_history).

Rules (canonical-model.md, "Stage history"):
- One row per stay in an open canonical stage; consecutive source stages that map to the
  same canonical stage merge into one stay, which keeps the source stage it was entered with.
- A move into a closed stage ends the current stay (exit_reason won / lost); closed states
  open no stay; a move to another open stage ends it as advanced or regressed by number.
- A deleted deal's open stay ends with "deleted" at the deal's last_modified_at (never
  before the stay began).
- Open stays have exited_at, exit_reason and duration_days NULL: their age depends on the
  as-of time, so metrics compute it at T instead of storing a figure that goes stale.
- durations are fractional days (seconds / 86,400).
- Input order does not matter; duplicate rows (same deal, stage and time) count once; rows at
  the same instant put closed stages last. Rows whose stage is unmapped (or not in the
  catalog), whose time cannot be parsed, or whose deal is unknown are skipped, never
  guessed: `skipped_history` lists them with the reason.
- Retention deals: every open stage is 7, so they have one stay in 7 per open period.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from transforms.dtypes import STAGE_NUMBER, TEXT, TIMESTAMP
from transforms.retention import RetentionRules, is_retention
from transforms.stage_mapping import lookup_stages
from transforms.stages import RETENTION_STAGE, STAGE_KEYS
from transforms.value_parsing import parse_bool, parse_timestamp

STAY_COLUMNS: tuple[str, ...] = (
    "deal_key",
    "stage_number",
    "stage",
    "source_stage",
    "entered_at",
    "exited_at",
    "exit_reason",  # advanced | regressed | won | lost | deleted | NULL while there
    "duration_days",
)
SKIPPED_HISTORY_COLUMNS: tuple[str, ...] = (
    "source_id",
    "pipeline",
    "source_stage",
    "changed_at",
    "reason",  # unmapped stage | unparseable changed_at | unknown deal
)

_WON_KEY = -1
_LOST_KEY = -2
_SECONDS_PER_DAY = 86_400.0


def _classified_history(
    *,
    history: pd.DataFrame,
    deals: pd.DataFrame,
    stage_map: pd.DataFrame,
    retention: RetentionRules,
) -> pd.DataFrame:
    """History rows joined to their deal and mapped; `problem` names why a row can't be used."""
    info = deals[["source_id", "pipeline", "deal_type"]].drop_duplicates("source_id", keep="last")
    rows = history[["source_id", "source_stage", "changed_at"]].merge(
        info, on="source_id", how="left", indicator="_deal"
    )
    stamps = parse_timestamp(rows["changed_at"])
    mapped = lookup_stages(
        stage_map, pipelines=rows["pipeline"], source_stages=rows["source_stage"]
    )
    retention_rows = is_retention(
        pipelines=rows["pipeline"], deal_types=rows["deal_type"], rules=retention
    )
    closed = mapped["is_closed"].fillna(False).astype(bool)
    number = mapped["stage_number"]
    number = number.mask(retention_rows & mapped["in_catalog"] & ~closed, RETENTION_STAGE)
    usable_stage = mapped["in_catalog"] & (closed | number.notna())
    problem = pd.Series(None, index=rows.index, dtype=TEXT)
    problem = problem.mask(~usable_stage, "unmapped stage")
    problem = problem.mask(stamps.values.isna(), "unparseable changed_at")
    problem = problem.mask(rows["_deal"] == "left_only", "unknown deal")
    key = np.where(
        closed,
        np.where(mapped["is_won"].fillna(False).astype(bool), _WON_KEY, _LOST_KEY),
        number.fillna(0).astype("int64"),
    )
    return pd.DataFrame(
        {
            "source_id": rows["source_id"].astype(TEXT),
            "pipeline": rows["pipeline"].astype(TEXT),
            "source_stage": rows["source_stage"].astype(TEXT),
            "changed_at_text": rows["changed_at"],
            "changed_at": stamps.values,
            "is_closed": closed,
            "key": key,
            "problem": problem,
        }
    )


def skipped_history(
    *,
    history: pd.DataFrame,
    deals: pd.DataFrame,
    stage_map: pd.DataFrame,
    retention: RetentionRules,
) -> pd.DataFrame:
    """History rows build_stays skips (SKIPPED_HISTORY_COLUMNS), so a check can name them."""
    rows = _classified_history(
        history=history, deals=deals, stage_map=stage_map, retention=retention
    )
    skipped = rows[rows["problem"].notna()]
    return pd.DataFrame(
        {
            "source_id": skipped["source_id"],
            "pipeline": skipped["pipeline"],
            "source_stage": skipped["source_stage"],
            "changed_at": skipped["changed_at_text"].astype(TEXT),
            "reason": skipped["problem"],
        }
    ).reset_index(drop=True)


def build_stays(
    *,
    history: pd.DataFrame,
    deals: pd.DataFrame,
    stage_map: pd.DataFrame,
    retention: RetentionRules,
    source: str,
) -> pd.DataFrame:
    """Stays in open canonical stages (STAY_COLUMNS) from stage-change rows (HISTORY_COLUMNS).

    `deals` needs source_id, pipeline, deal_type, is_deleted and last_modified_at (text or
    parsed), one row per deal (the last row wins).
    """
    rows = _classified_history(
        history=history, deals=deals, stage_map=stage_map, retention=retention
    )
    rows = rows[rows["problem"].isna()]
    rows = rows.drop_duplicates(["source_id", "source_stage", "changed_at"])
    rows = rows.sort_values(["source_id", "changed_at", "is_closed"], kind="stable")

    same_deal_as_previous = rows["source_id"].eq(rows["source_id"].shift())
    new_run = ~same_deal_as_previous | rows["key"].ne(rows["key"].shift())
    events = rows[new_run]
    same_deal_as_next = events["source_id"].eq(events["source_id"].shift(-1))
    next_key = events["key"].shift(-1).where(same_deal_as_next)
    next_at = events["changed_at"].shift(-1).where(same_deal_as_next)

    key = events["key"]
    reason = pd.Series(None, index=events.index, dtype=TEXT)
    reason = reason.mask(next_key == _WON_KEY, "won")
    reason = reason.mask(next_key == _LOST_KEY, "lost")
    reason = reason.mask((next_key > 0) & (next_key > key), "advanced")
    reason = reason.mask((next_key > 0) & (next_key < key), "regressed")

    stays = pd.DataFrame(
        {
            "source_id": events["source_id"],
            "stage_number": key.astype(STAGE_NUMBER),
            "source_stage": events["source_stage"],
            "entered_at": events["changed_at"],
            "exited_at": next_at.astype(TIMESTAMP),
            "exit_reason": reason,
        }
    )[~events["is_closed"]]
    stays = _end_deleted_stays(stays, deals)

    duration = (stays["exited_at"] - stays["entered_at"]).dt.total_seconds() / _SECONDS_PER_DAY
    return pd.DataFrame(
        {
            "deal_key": (source + ":" + stays["source_id"]).astype(TEXT),
            "stage_number": stays["stage_number"],
            "stage": stays["stage_number"].map(STAGE_KEYS).astype(TEXT),
            "source_stage": stays["source_stage"].astype(TEXT),
            "entered_at": stays["entered_at"].astype(TIMESTAMP),
            "exited_at": stays["exited_at"].astype(TIMESTAMP),
            "exit_reason": stays["exit_reason"].astype(TEXT),
            "duration_days": duration.astype("float64"),
        }
    ).reset_index(drop=True)


def _end_deleted_stays(stays: pd.DataFrame, deals: pd.DataFrame) -> pd.DataFrame:
    """End the open stay of each deleted deal at its last_modified_at, reason "deleted"."""
    info = deals[["source_id", "is_deleted", "last_modified_at"]].drop_duplicates(
        "source_id", keep="last"
    )
    deleted = info[parse_bool(info["is_deleted"]).fillna(False).astype(bool).to_numpy()]
    if deleted.empty:
        return stays
    deleted_at = pd.Series(
        parse_timestamp(deleted["last_modified_at"]).values.to_numpy(),
        index=deleted["source_id"].astype(TEXT).to_numpy(),
    )
    at = stays["source_id"].map(deleted_at)
    ends = stays["exited_at"].isna() & stays["source_id"].isin(deleted_at.index)
    if not ends.any():
        return stays
    end_at = at.where(at.isna() | (at >= stays["entered_at"]), stays["entered_at"])
    stays = stays.copy()
    stays.loc[ends, "exited_at"] = end_at[ends].astype(TIMESTAMP)
    stays.loc[ends, "exit_reason"] = "deleted"
    return stays
