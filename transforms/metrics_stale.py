"""The stale_deals metric: open deals a staleness rule flags, by rule and stage, vs the pipeline."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from transforms.metrics_counts import amount_total, unconverted
from transforms.metrics_inputs import require_columns
from transforms.metrics_money import ratio


def split_rules(value: object) -> list[str]:
    """Rule names of a flag: a list/array, or text joined with ';' (as detect_stale writes)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(";") if part.strip()]
    if isinstance(value, Iterable):
        return [str(part).strip() for part in value if str(part).strip()]
    raise TypeError(f"flag rules must be a list or ';'-joined text, got {value!r}")


def prepare_flags(flags: pd.DataFrame | None) -> pd.DataFrame | None:
    """deal_key -> list of rules, one row per flagged deal; None when no flags frame is given."""
    if flags is None:
        return None
    require_columns(flags, ["deal_key"], name="flags")
    column = "rules" if "rules" in flags.columns else None
    rules = [split_rules(v) for v in flags[column]] if column else [[] for _ in range(len(flags))]
    keys = pd.Series(flags["deal_key"].tolist(), dtype=object)
    if not keys.duplicated().any() and keys.notna().all():  # one row per deal: no groupby
        return pd.DataFrame(
            {
                # typed as groupby types its keys
                "deal_key": pd.Series(pd.Index(keys.tolist())),
                "rule_list": pd.Series([sorted(set(r)) for r in rules], dtype=object),
            }
        )
    frame = pd.DataFrame({"deal_key": keys, "rule_list": pd.Series(rules, dtype=object)})
    return frame.groupby("deal_key", as_index=False, sort=False).agg(
        rule_list=("rule_list", lambda lists: sorted({r for rules in lists for r in rules}))
    )


def _bucket(frame: pd.DataFrame) -> dict[str, Any]:
    return {"count": len(frame), "amount": amount_total(frame["amount"].tolist())}


def stale_metrics(flags: pd.DataFrame, deals: pd.DataFrame) -> tuple[dict[str, Any], int]:
    """Count and amount of flagged open deals, per rule and stage, and share of the pipeline."""
    open_deals = deals[deals["status"] == "open"]
    stale = open_deals.merge(flags, on="deal_key", how="inner")
    open_known = [a for a in open_deals["amount"] if a is not None]
    figures = _bucket(stale)
    figures["share_count"] = ratio(len(stale), len(open_deals))
    figures["share_amount"] = ratio(
        amount_total([a for a in stale["amount"] if a is not None]), amount_total(open_known)
    )
    exploded = stale.explode("rule_list")
    rules: dict[str, Any] = {}
    for rule, group in exploded.dropna(subset=["rule_list"]).groupby("rule_list", sort=True):
        rules[str(rule)] = _bucket(group)
    figures["rules"] = rules
    stages: dict[str, Any] = {}
    stage_key = stale["stage_number"].map(lambda s: "unknown" if pd.isna(s) else str(int(s)))
    for stage, group in stale.groupby(stage_key, sort=True):
        stages[str(stage)] = _bucket(group)
    figures["stages"] = stages
    return figures, unconverted(stale["amount"].tolist())
