"""Materialization metadata read from the warehouse: row counts and a markdown preview."""

from __future__ import annotations

from typing import Any

import dagster as dg
import pandas as pd
import sqlalchemy as sa


def row_count(conn: sa.Connection, table: sa.Table) -> int:
    """Rows in a table."""
    return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def preview(
    conn: sa.Connection, table: sa.Table, columns: list[str], *, limit: int = 10
) -> dg.MetadataValue:
    """The first rows of `columns` as a markdown table (by primary key, for stability)."""
    query = (
        sa.select(*(table.c[name] for name in columns))
        .order_by(*table.primary_key.columns)
        .limit(limit)
    )
    frame = pd.DataFrame(conn.execute(query).fetchall(), columns=columns)
    return dg.MetadataValue.md(frame.to_markdown(index=False) if len(frame) else "(empty)")


def int_metadata(values: dict[str, Any]) -> dict[str, dg.MetadataValue]:
    """Integer counters as Dagster metadata."""
    return {key: dg.MetadataValue.int(int(value)) for key, value in values.items()}
