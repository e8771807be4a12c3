"""Which deals belong to the retention motion (stage 7): by pipeline or by deal type."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd


@dataclass(frozen=True)
class RetentionRules:
    """Pipelines (exact ids) and deal types (case-insensitive) that mark the retention motion."""

    pipelines: frozenset[str] = field(default_factory=frozenset)
    deal_types: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, *, pipelines: Iterable[str] = (), deal_types: Iterable[str] = ()) -> RetentionRules:
        """Rules from any iterables (configuration lists)."""
        return cls(pipelines=frozenset(pipelines), deal_types=frozenset(deal_types))


def is_retention(
    *, pipelines: pd.Series, deal_types: pd.Series, rules: RetentionRules
) -> pd.Series:
    """True where a deal's pipeline or deal type is configured as retention."""
    folded_types = {t.strip().casefold() for t in rules.deal_types}
    by_pipeline = pipelines.astype("str").isin(list(rules.pipelines))
    by_type = deal_types.astype("str").str.strip().str.casefold().isin(list(folded_types))
    return (by_pipeline | by_type).fillna(False).astype(bool)
