"""Stale deals flagged back in the CRM: nightly detection, plan, push, setup and undo.

`detect_stale_deals` (no CRM writes) runs at the end of the nightly sync; `push_flags` writes
the changed flag fields, a dry run unless asked to apply (stale-deals.md).
"""

from __future__ import annotations

from pipelines_etl.flags.detect import DetectResult, detect_stale_deals
from pipelines_etl.flags.push import PushResult, SafetyLimitExceeded, push_flags

__all__ = [
    "DetectResult",
    "PushResult",
    "SafetyLimitExceeded",
    "detect_stale_deals",
    "push_flags",
]
