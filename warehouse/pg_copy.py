"""Stream many rows into PostgreSQL with COPY: straight into a table, or into a temporary
stage for set-based upserts.

A multi-VALUES statement of thousands of rows costs psycopg more to parse than the server
to run; COPY streams the rows instead. Values go through the columns' SQLAlchemy bind
processing first (the exact-decimal and UTC checks apply as on any insert), and the COPY
statement is composed with `psycopg.sql` identifiers: no data ever enters the SQL text.

`copy_columns` writes COPY's text format itself, a column at a time: text values are
escaped a whole column at once, other values are dumped by psycopg's own text dumpers (as
`write_row` would), and rows are joined into large chunks, not written one by one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from psycopg import sql
from psycopg.adapt import PyFormat, Transformer

# Rows per chunk of COPY text handed to psycopg.
COPY_CHUNK_ROWS = 5_000
_NULL = "\\N"
# Characters COPY's text format escapes; NUL cannot be stored in a PostgreSQL text value.
_SPECIAL = "\\\t\n\r"


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


def _copy_statement(table: sa.Table, names: Sequence[str]) -> sql.Composed:
    return sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, names))
    )


def copy_rows(conn: sa.Connection, stage: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Stream `rows` into `stage` with COPY, after each column's bind processing."""
    dialect = conn.dialect
    names = [column.name for column in stage.columns]
    processors = [
        column.type.dialect_impl(dialect).bind_processor(dialect) for column in stage.columns
    ]
    driver = conn.connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(_copy_statement(stage, names)) as copy:
        for row in rows:
            copy.write_row(
                [
                    value if process is None or value is None else process(value)
                    for value, process in zip((row[n] for n in names), processors, strict=True)
                ]
            )


def _escaped(texts: list[str]) -> list[str]:
    """Text values with COPY's backslash escapes, a whole column at once (values cannot hold
    NUL, so it can join and split them)."""
    if not texts:
        return texts
    joined = "\x00".join(texts)
    if joined.count("\x00") != len(texts) - 1:
        raise ValueError("PostgreSQL text values cannot contain NUL (0x00) characters")
    if not any(char in joined for char in _SPECIAL):
        return texts
    escaped = (
        joined.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )
    return escaped.split("\x00")


def _text_fields(values: Sequence[Any], transformer: Transformer, encoding: str) -> list[str]:
    """One column as COPY text fields: `\\N` for None, text escaped, the rest as psycopg's
    text dumpers render it (the same bytes `write_row` sends)."""
    kinds = set(map(type, values))
    kinds.discard(type(None))
    if kinds <= {str}:
        texts = _escaped([value for value in values if value is not None])
    else:
        dumpers: dict[type, Any] = {}
        texts = []
        last: object = None
        last_text = ""
        for value in values:
            if value is None:
                continue
            if value is last:  # a stamp repeated down a column (extracted_at, synced_at)
                texts.append(last_text)
                continue
            kind = type(value)
            if kind is str:
                text = value
            else:
                dumper = dumpers.get(kind)
                if dumper is None:
                    dumper = dumpers[kind] = transformer.get_dumper(value, PyFormat.TEXT)
                text = bytes(dumper.dump(value)).decode(encoding)
            texts.append(text)
            last, last_text = value, text
        texts = _escaped(texts)
    if len(texts) == len(values):
        return texts
    filled = iter(texts)
    return [_NULL if value is None else next(filled) for value in values]


def copy_columns(
    conn: sa.Connection, table: sa.Table, columns: Mapping[str, Sequence[Any]]
) -> None:
    """Stream already bound column values (`warehouse.types.bind_values`, or text that
    parses to them: `warehouse.frames.frame_copy_columns`) into `table`."""
    names = list(columns)
    driver = conn.connection.driver_connection
    transformer = Transformer(driver)
    encoding = driver.info.encoding
    fields = [_text_fields(columns[name], transformer, encoding) for name in names]
    n_rows = len(fields[0]) if fields else 0
    if any(len(column) != n_rows for column in fields):
        raise ValueError(f"columns for {table.name} differ in length")
    with driver.cursor() as cursor, cursor.copy(_copy_statement(table, names)) as copy:
        for start in range(0, n_rows, COPY_CHUNK_ROWS):
            rows = zip(*(column[start : start + COPY_CHUNK_ROWS] for column in fields), strict=True)
            copy.write("\n".join(map("\t".join, rows)) + "\n")


def has_any_key(conn: sa.Connection, table: sa.Table, keys: Mapping[str, Sequence[Any]]) -> bool:
    """True when `table` holds a row with any of these keys (equally long lists of values).

    One statement whatever the number of keys: each key column goes as one text array. Keys
    that are not all text are taken as possibly present (True), for the caller's general path.
    """
    names = list(keys)
    for name in names:
        if not isinstance(table.c[name].type, sa.String) or set(map(type, keys[name])) != {str}:
            return True
    query = sql.SQL(
        "SELECT EXISTS (SELECT FROM {table} JOIN unnest({arrays}) AS {keys} ({names}) ON {on})"
    ).format(
        table=sql.Identifier(table.name),
        arrays=sql.SQL(", ").join(sql.SQL("%b::text[]") for _ in names),
        keys=sql.Identifier("keys"),
        names=sql.SQL(", ").join(map(sql.Identifier, names)),
        on=sql.SQL(" AND ").join(
            sql.SQL("{} = {}").format(
                sql.Identifier(table.name, name), sql.Identifier("keys", name)
            )
            for name in names
        ),
    )
    driver = conn.connection.driver_connection
    with driver.cursor() as cursor:
        cursor.execute(query, [list(keys[name]) for name in names])
        row = cursor.fetchone()
    return bool(row and row[0])
