"""The one Dagster entry point: every definition under `pipelines_etl/defs/`."""

from __future__ import annotations

from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    """Load the definitions folder (assets, checks, jobs, schedules, resources)."""
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
