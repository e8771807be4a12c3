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

from warehouse.pg_copy import copy_columns
from warehouse.schema import pipeline_metrics
from warehouse.types import bind_values

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
    if not rows:
        return 0
    n = len(rows)
    columns: dict[str, list[Any]] = {
        "run_id": [run_id] * n,
        "computed_at": [computed_at] * n,
        "as_of": [as_of] * n,
        **{key: [row.get(key) for row in rows] for key in ROW_KEYS},
    }
    # Bound a column at a time (the types' checks and output, without per-row processing),
    # then COPY (PostgreSQL) or one executemany of plain tuples (SQLite).
    bound = {
        name: bind_values(pipeline_metrics.c[name].type, values, conn.dialect)
        for name, values in columns.items()
    }
    if conn.dialect.name == "postgresql":
        copy_columns(conn, pipeline_metrics, bound)
        return n
    compiled = sa.insert(pipeline_metrics).compile(dialect=conn.dialect, column_keys=list(bound))
    order = list(compiled.positiontup or [])
    params = list(zip(*(bound[name] for name in order), strict=True))
    for start in range(0, n, _BATCH):
        conn.exec_driver_sql(str(compiled), params[start : start + _BATCH])
    return n


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
