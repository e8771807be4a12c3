"""The seven canonical stages of the B2B sales process (canonical-model.md)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CanonicalStage:
    """One canonical stage: its number (order), key (stored in `stage`) and display name."""

    number: int
    key: str
    name: str


STAGES: tuple[CanonicalStage, ...] = (
    CanonicalStage(1, "prospecting", "Prospecting"),
    CanonicalStage(2, "qualification", "Lead qualification"),
    CanonicalStage(3, "demo", "Appointment / demo"),
    CanonicalStage(4, "proposal", "Proposal"),
    CanonicalStage(5, "negotiation", "Negotiation & commitment"),
    CanonicalStage(6, "closing", "Closing"),
    CanonicalStage(7, "retention", "Retention"),
)

STAGE_KEYS: dict[int, str] = {stage.number: stage.key for stage in STAGES}
STAGE_NAMES: dict[int, str] = {stage.number: stage.name for stage in STAGES}

WON_STAGE = 6  # a won new-business deal ends at Closing
RETENTION_STAGE = 7  # every open stage of a retention deal, and where it ends
NEW_BUSINESS_STAGES: tuple[int, ...] = (1, 2, 3, 4, 5, 6)

STATUS_OPEN = "open"
STATUS_WON = "won"
STATUS_LOST = "lost"

MOTION_NEW_BUSINESS = "new_business"
MOTION_RETENTION = "retention"


def stage_by_number(number: int) -> CanonicalStage:
    """The canonical stage with this number; ValueError outside 1-7 (a config mistake)."""
    for stage in STAGES:
        if stage.number == number:
            return stage
    raise ValueError(f"canonical stage number must be 1-7, got {number!r}")
