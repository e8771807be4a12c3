"""`flags clear --all`: remove every flag the toolkit set (a dry run unless applied).

The same push machinery with every toolkit flag's desired values cleared; the re-read decides
what the CRM holds now, so a flag an admin already removed costs no write. The safety limit
does not apply: clearing never floods a CRM with new flags.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sqlalchemy as sa

from connectors.base import CrmConnector
from pipelines_etl.config import AppConfig
from pipelines_etl.flags.push import PushResult, push_flags
from pipelines_etl.sources import Source


def clear_all_flags(
    engine: sa.Engine,
    *,
    sources: Sequence[Source],
    app_config: AppConfig,
    env: Mapping[str, str],
    apply: bool,
    lock_wait: float | None = 0.0,
    connectors: Mapping[str, CrmConnector] | None = None,
) -> PushResult:
    """Clear the toolkit's flags in `sources`; the flag rows end up `cleared`."""
    return push_flags(
        engine,
        sources=sources,
        app_config=app_config,
        env=env,
        apply=apply,
        clear_all=True,
        lock_wait=lock_wait,
        connectors=connectors,
    )
