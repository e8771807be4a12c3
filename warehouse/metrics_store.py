"""Writing and reading `pipeline_metrics`: one row per run, motion, scope, metric and key.

Rows arrive as plain values (the caller flattens its metrics); this module only knows the
table. A run's rows replace any earlier rows of the same run id, so a retried run never
leaves half of two runs behind.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from warehouse.schema import pipeline_metrics

ROW_KEYS: tuple[str, ...] = (
    "motion",
    "scope",
    "scope_key",
    "metric",
    "key",
    "value",
    "value_text",
    "unit",
)
_BATCH = 5_000


def write_metric_rows(
    conn: sa.Connection,
    *,
    run_id: str,
    computed_at: datetime,
    as_of: datetime,
    rows: Sequence[Mapping[str, Any]],
) -> int:
    """Replace run `run_id`'s rows with `rows` (keys ROW_KEYS); returns the rows written."""
    if not run_id:
        raise ValueError("run_id must not be empty")
    conn.execute(sa.delete(pipeline_metrics).where(pipeline_metrics.c.run_id == run_id))
    stamped = [
        {
            "run_id": run_id,
            "computed_at": computed_at,
            "as_of": as_of,
            **{key: row.get(key) for key in ROW_KEYS},
        }
        for row in rows
    ]
    for start in range(0, len(stamped), _BATCH):
        conn.execute(sa.insert(pipeline_metrics), stamped[start : start + _BATCH])
    return len(stamped)


def latest_run_id(conn: sa.Connection) -> str | None:
    """The run id of the most recently computed metrics (None when there are none)."""
    return conn.execute(
        sa.select(pipeline_metrics.c.run_id)
        .order_by(pipeline_metrics.c.computed_at.desc(), pipeline_metrics.c.run_id.desc())
        .limit(1)
    ).scalar_one_or_none()


def read_metric_rows(conn: sa.Connection, *, run_id: str) -> list[dict[str, Any]]:
    """Every row of one run as dicts (value as Decimal or None), in key order."""
    t = pipeline_metrics
    result = conn.execute(
        sa.select(t)
        .where(t.c.run_id == run_id)
        .order_by(t.c.motion, t.c.scope, t.c.scope_key, t.c.metric, t.c.key)
    )
    return [dict(row._mapping) for row in result]


def metric_value(
    conn: sa.Connection,
    *,
    run_id: str,
    metric: str,
    key: str = "",
    scope: str = "all",
    scope_key: str = "",
    motion: str = "new_business",
) -> Decimal | None:
    """One stored value (None when the row is absent or the value undefined)."""
    t = pipeline_metrics
    return conn.execute(
        sa.select(t.c.value).where(
            t.c.run_id == run_id,
            t.c.motion == motion,
            t.c.scope == scope,
            t.c.scope_key == scope_key,
            t.c.metric == metric,
            t.c.key == key,
        )
    ).scalar_one_or_none()
