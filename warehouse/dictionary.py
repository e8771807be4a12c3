"""The data dictionary: markdown generated from the schema's table and column comments and the
analyst views, so the documentation cannot drift from the warehouse.

Regenerate with `python -m warehouse.dictionary > docs/data-dictionary.md`; a test checks the
committed file equals this output.
"""

from __future__ import annotations

import sys

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from warehouse.schema import metadata
from warehouse.types import ExactDecimal, Money, Probability, UtcDateTime
from warehouse.views import POSTGRESQL, SQLITE, VIEWS, ViewDef

HEADER = """# Data dictionary

Generated from `warehouse/schema.py` and `warehouse/views.py` by
`python -m warehouse.dictionary > docs/data-dictionary.md`; do not edit by hand.

Money is exact: `NUMERIC` on PostgreSQL, decimal text on SQLite (compare or sum it through
`CAST(column AS NUMERIC)` there). Timestamps are UTC: `TIMESTAMP WITH TIME ZONE` on
PostgreSQL, UTC text on SQLite. Columns marked *bookkeeping* record when or by which run a
row was written, not what the row says.
"""


def type_name(column_type: sa.types.TypeEngine) -> str:
    """A reader's name for a column type, the same on both backends."""
    if isinstance(column_type, Money):
        return "money (24, 6)"
    if isinstance(column_type, Probability):
        return "probability (6, 4)"
    if isinstance(column_type, ExactDecimal):
        if column_type.precision is None:
            return "decimal"
        return f"decimal ({column_type.precision}, {column_type.scale})"
    if isinstance(column_type, UtcDateTime):
        return "timestamp (UTC)"
    return str(column_type.compile(dialect=postgresql.dialect())).lower()


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def table_section(table: sa.Table) -> str:
    """One table: its comment, primary key and a row per column."""
    keys = [c.name for c in table.primary_key.columns]
    lines = [
        f"### `{table.name}`",
        "",
        _cell(table.comment),
        "",
        f"Primary key: {', '.join(f'`{k}`' for k in keys) or 'none'}.",
        "",
        "| column | type | null | description |",
        "|---|---|---|---|",
    ]
    for column in table.columns:
        note = _cell(column.comment)
        if column.info.get("bookkeeping") and "bookkeeping" not in note:
            note += " (bookkeeping)"
        nullable = "yes" if column.nullable and not column.primary_key else "no"
        lines.append(f"| `{column.name}` | {type_name(column.type)} | {nullable} | {note} |")
    return "\n".join(lines)


def view_section(view: ViewDef) -> str:
    """One view: its comment and a row per column, with the backends that have it."""
    lines = [
        f"### `{view.name}`",
        "",
        _cell(view.comment),
        "",
        "| column | on | description |",
        "|---|---|---|",
    ]
    for name, comment in view.columns.items():
        backends = [d for d in (SQLITE, POSTGRESQL) if name in view.column_names(d)]
        on = "both" if len(backends) == 2 else ", ".join(backends)
        lines.append(f"| `{name}` | {on} | {_cell(comment)} |")
    return "\n".join(lines)


def render() -> str:
    """The whole dictionary as markdown: tables in schema order, then the views."""
    parts = [HEADER, "## Tables", ""]
    parts += [table_section(table) + "\n" for table in metadata.tables.values()]
    parts += ["## Views", ""]
    parts += [view_section(view) + "\n" for view in VIEWS]
    return "\n".join(parts).rstrip("\n") + "\n"


def main() -> None:
    """Print the dictionary to standard output."""
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
