"""Source stage -> canonical stage: the applied mapping table, and vectorised lookups in it.

The map has one row per stage of the CRM's catalog (STAGE_COLUMNS). Resolution order for an
open stage: a configured rule for its pipeline, a configured rule for pipeline "*", then the
defaults; rules and defaults match the stage id or its label (case-insensitive, trimmed).
Closed stages need no row: a won stage is 6 (retention deals become 7 in normalize), a lost
stage has no number (normalize gives a lost deal the highest stage it reached). Rules on
closed stages are ignored. An open stage nothing covers stays in the map with
origin "unmapped" and no number, so the warehouse shows it and normalize quarantines its
deals. Catalog rows with pipeline "*" apply to deals of any pipeline (for a CRM whose stage
list is global, e.g. Salesforce record types sharing one OpportunityStage list).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from transforms.dtypes import STAGE_NUMBER
from transforms.stages import STAGE_KEYS, WON_STAGE, stage_by_number
from transforms.value_parsing import parse_bool

ANY_PIPELINE = "*"
STAGE_MAP_COLUMNS: tuple[str, ...] = (
    "pipeline",
    "source_stage",
    "label",
    "stage_number",
    "stage",
    "is_closed",
    "is_won",
    "origin",  # override | default | closed | unmapped
)


@dataclass(frozen=True)
class StageMappingRule:
    """A configured mapping: in `pipeline` ("*" for any), stage id or label -> canonical number."""

    pipeline: str
    source_stage: str
    stage_number: int

    def __post_init__(self) -> None:
        """Reject numbers outside 1-7 when the configuration is read, not mid-run."""
        stage_by_number(self.stage_number)


def _fold(text: object) -> str:
    """Stage ids and labels as matched: trimmed, case-folded."""
    return str(text).strip().casefold()


def build_stage_map(
    *,
    catalog: pd.DataFrame,
    defaults: Mapping[str, int],
    overrides: Sequence[StageMappingRule] = (),
) -> pd.DataFrame:
    """The applied mapping (STAGE_MAP_COLUMNS) of every catalog stage, for normalize and audit."""
    folded_defaults = {
        _fold(key): stage_by_number(number).number for key, number in defaults.items()
    }
    by_pipeline: dict[tuple[str, str], int] = {}
    for rule in overrides:
        by_pipeline[(rule.pipeline, _fold(rule.source_stage))] = rule.stage_number
    rows = catalog.drop_duplicates(["pipeline", "stage_id"], keep="last")
    closed = parse_bool(rows["is_closed"]).fillna(False).astype(bool).to_numpy()
    won = parse_bool(rows["is_won"]).fillna(False).astype(bool).to_numpy()
    numbers: list[int | None] = []
    origins: list[str] = []
    for pipeline, stage_id, label, is_closed, is_won in zip(
        rows["pipeline"], rows["stage_id"], rows["label"], closed, won, strict=True
    ):
        if is_closed:
            numbers.append(WON_STAGE if is_won else None)
            origins.append("closed")
            continue
        number, origin = _resolve_open(
            pipeline=str(pipeline),
            keys=[_fold(stage_id)] + ([_fold(label)] if pd.notna(label) else []),
            rules=by_pipeline,
            defaults=folded_defaults,
        )
        numbers.append(number)
        origins.append(origin)
    stage_numbers = pd.array(numbers, dtype=STAGE_NUMBER)
    result = pd.DataFrame(
        {
            "pipeline": rows["pipeline"].astype("str").to_numpy(),
            "source_stage": rows["stage_id"].astype("str").to_numpy(),
            "label": rows["label"].astype("str").to_numpy(),
            "stage_number": stage_numbers,
            "stage": pd.Series(stage_numbers).map(STAGE_KEYS).astype("str").to_numpy(),
            "is_closed": closed,
            "is_won": won & closed,
            "origin": origins,
        }
    )
    return result.astype({"origin": "str"}).reset_index(drop=True)


def _resolve_open(
    *,
    pipeline: str,
    keys: list[str],
    rules: Mapping[tuple[str, str], int],
    defaults: Mapping[str, int],
) -> tuple[int | None, str]:
    """Number and origin of one open stage: pipeline rule, "*" rule, default, else unmapped."""
    for scope in (pipeline, ANY_PIPELINE):
        for key in keys:
            if (scope, key) in rules:
                return rules[(scope, key)], "override"
    for key in keys:
        if key in defaults:
            return defaults[key], "default"
    return None, "unmapped"


def lookup_stages(
    stage_map: pd.DataFrame, *, pipelines: pd.Series, source_stages: pd.Series
) -> pd.DataFrame:
    """Per input row: stage_number, is_closed, is_won, in_catalog; exact pipeline, then "*".

    Rows whose stage is not in the map get in_catalog False and NA elsewhere.
    """
    keys = pd.MultiIndex.from_arrays(
        [stage_map["pipeline"].astype("str"), stage_map["source_stage"].astype("str")]
    )
    pipe = pipelines.astype("str")
    stage = source_stages.astype("str")
    position = keys.get_indexer(pd.MultiIndex.from_arrays([pipe, stage]))
    missing = position < 0
    if missing.any() and (stage_map["pipeline"] == ANY_PIPELINE).any():
        any_pipe = pd.Series(ANY_PIPELINE, index=stage.index, dtype="str")
        fallback = keys.get_indexer(pd.MultiIndex.from_arrays([any_pipe, stage]))
        position = np.where(missing, fallback, position)
    found = position >= 0
    take = np.where(found, position, 0)
    result = pd.DataFrame(index=pipelines.index)
    numbers = stage_map["stage_number"].astype(STAGE_NUMBER).to_numpy()[take]
    result["stage_number"] = pd.array(numbers, dtype=STAGE_NUMBER)
    result.loc[~found, "stage_number"] = pd.NA
    for column in ("is_closed", "is_won"):
        values = pd.array(stage_map[column].astype(bool).to_numpy()[take], dtype="boolean")
        values[~found] = pd.NA
        result[column] = values
    result["in_catalog"] = found
    return result
