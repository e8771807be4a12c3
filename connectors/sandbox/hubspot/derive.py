"""Properties HubSpot calculates from a deal's stage and stage history."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from connectors.sandbox.hubspot.values import iso_ms, probability_text

# One dealstage history entry: (stage id, epoch ms, sourceType).
StageEntry = tuple[str, int, str]


def closing_properties(stage: dict[str, Any]) -> dict[str, str]:
    """hs_is_closed, hs_is_closed_won, hs_is_closed_lost, hs_deal_stage_probability of a stage."""
    closed = stage["metadata"].get("isClosed") == "true"
    probability = stage["metadata"].get("probability", "0")
    won = closed and Decimal(probability) == 1
    return {
        "hs_is_closed": "true" if closed else "false",
        "hs_is_closed_won": "true" if won else "false",
        "hs_is_closed_lost": "true" if closed and not won else "false",
        "hs_deal_stage_probability": probability_text(probability),
    }


def stage_date_properties(
    history: list[StageEntry], texts: list[str] | None = None
) -> dict[str, str]:
    """hs_v2_date_entered/exited_<stage> from a stage history (oldest first); latest entry wins.

    `texts` may give the entries' timestamps already formatted (generation reuses them).
    """
    stamps = texts if texts is not None else [iso_ms(ms) for _stage, ms, _source in history]
    props: dict[str, str] = {}
    for index, (stage, _ms, _source) in enumerate(history):
        props["hs_v2_date_entered_" + stage] = stamps[index]
        props.pop("hs_v2_date_exited_" + stage, None)
        if index > 0:
            props["hs_v2_date_exited_" + history[index - 1][0]] = stamps[index]
    return props
