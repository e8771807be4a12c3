"""Stage many rows in a PostgreSQL temporary table with COPY, for set-based upserts.

A multi-VALUES statement of thousands of rows costs psycopg more to parse than the server
to run; COPY streams the rows instead. Values go through the columns' SQLAlchemy bind
processing first (the exact-decimal and UTC checks apply as on any insert), and the COPY
statement is composed with `psycopg.sql` identifiers: no data ever enters the SQL text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from psycopg import sql


def create_stage(conn: sa.Connection, table: sa.Table, columns: Sequence[str]) -> sa.Table:
    """An empty temporary table with `columns` of `table` (same types), for this session."""
    stage = sa.Table(
        f"stage_{table.name}",
        sa.MetaData(),
        *(sa.Column(name, table.c[name].type) for name in columns),
        prefixes=["TEMPORARY"],
    )
    stage.drop(conn, checkfirst=True)
    stage.create(conn)
    return stage


def copy_rows(conn: sa.Connection, stage: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Stream `rows` into `stage` with COPY, after each column's bind processing."""
    dialect = conn.dialect
    names = [column.name for column in stage.columns]
    processors = [
        column.type.dialect_impl(dialect).bind_processor(dialect) for column in stage.columns
    ]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(stage.name), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    driver = conn.connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(
                [
                    value if process is None or value is None else process(value)
                    for value, process in zip((row[n] for n in names), processors, strict=True)
                ]
            )


def copy_columns(
    conn: sa.Connection, table: sa.Table, columns: Mapping[str, Sequence[Any]]
) -> None:
    """Stream already bound column values (`warehouse.types.bind_values`) into `table`."""
    names = list(columns)
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    driver = conn.connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in zip(*(columns[name] for name in names), strict=True):
            copy.write_row(row)
