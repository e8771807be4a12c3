"""Counts and values of the open pipeline as of T: open deals, amounts, stage distribution."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pandas as pd

from transforms.metrics_money import exact_sum

NO_OWNER = "(no owner)"


def amount_total(amounts: Sequence[Decimal | None]) -> Decimal | None:
    """Exact sum of the known amounts: 0 for no deals, None when every deal's amount is unknown."""
    known = [a for a in amounts if a is not None]
    if not known and len(amounts) > 0:
        return None
    return exact_sum(known)


def unconverted(amounts: Sequence[Decimal | None]) -> int:
    """How many deals an amount metric leaves out because their amount is unknown."""
    return sum(1 for a in amounts if a is None)


def bucket_totals(
    keys: Sequence[str], frame: pd.DataFrame, *, weighted: bool = True, commit: bool = False
) -> dict[str, dict[str, Any]]:
    """Per key (one per row of `frame`): count, amount, and weighted / commit amounts."""
    amounts = frame["amount"].tolist()
    weights = frame["weighted"].tolist() if weighted else [None] * len(amounts)
    categories = frame["forecast_category"].tolist() if commit else [None] * len(amounts)
    grouped: dict[str, tuple[list, list, list]] = {}
    for key, amount, weight, category in zip(keys, amounts, weights, categories, strict=True):
        lists = grouped.setdefault(key, ([], [], []))
        lists[0].append(amount)
        lists[1].append(weight)
        if category == "commit":
            lists[2].append(amount)
    return {
        key: empty_bucket(weighted=weighted, commit=commit) | finished(lists, weighted, commit)
        for key, lists in grouped.items()
    }


def finished(lists: tuple[list, list, list], weighted: bool, commit: bool) -> dict[str, Any]:
    """The totals of one bucket's collected amounts."""
    out: dict[str, Any] = {"count": len(lists[0]), "amount": amount_total(lists[0])}
    if weighted:
        out["weighted_amount"] = amount_total(lists[1])
    if commit:
        out["commit_amount"] = amount_total(lists[2])
    return out


def empty_bucket(*, weighted: bool = True, commit: bool = False) -> dict[str, Any]:
    """Totals of a bucket with no deals: count 0 and amounts 0."""
    return finished(([], [], []), weighted, commit)


def count_metrics(
    deals: pd.DataFrame, *, stages: Sequence[int], per_owner: bool
) -> tuple[dict[str, Any], dict[str, int]]:
    """open_deals, open/weighted pipeline amount, stage_distribution, active_deals_per_owner."""
    open_deals = deals[deals["status"] == "open"]
    amounts = open_deals["amount"].tolist()
    values: dict[str, Any] = {
        "open_deals": len(open_deals),
        "open_pipeline_amount": amount_total(amounts),
        "weighted_pipeline_amount": amount_total(open_deals["weighted"].tolist()),
    }
    excluded = {
        "open_pipeline_amount": unconverted(amounts),
        "weighted_pipeline_amount": unconverted(amounts),
        "stage_distribution": unconverted(amounts),
    }
    stage_keys = [
        "unknown" if pd.isna(s) else str(int(s)) for s in open_deals["stage_number"].tolist()
    ]
    by_stage = bucket_totals(stage_keys, open_deals)
    distribution = {str(stage): by_stage.get(str(stage), empty_bucket()) for stage in stages}
    if "unknown" in by_stage:
        distribution["unknown"] = by_stage["unknown"]
    values["stage_distribution"] = distribution
    if per_owner:
        owners = [NO_OWNER if pd.isna(e) else str(e) for e in open_deals["owner_email"].tolist()]
        per = bucket_totals(owners, open_deals, weighted=False)
        values["active_deals_per_owner"] = {key: per[key] for key in sorted(per)}
        excluded["active_deals_per_owner"] = unconverted(amounts)
    return values, excluded
