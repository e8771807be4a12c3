"""WHERE clauses for "this column is one of these many keys", cheap on both backends.

PostgreSQL gets one `column = ANY(:array)` per call: a single bound array, where an IN list
of 10,000 placeholders costs the server more to parse and plan than the lookup itself.
SQLite gets IN lists of at most `CHUNK` keys, under its bound-parameter limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# Keys per IN list on SQLite: well under its 32,766 bound parameters.
CHUNK = 10_000


def key_filters(
    conn: sa.Connection, column: sa.ColumnElement[Any], keys: Iterable[str]
) -> Iterator[sa.ColumnElement[bool]]:
    """Clauses that together select the rows whose `column` is in `keys` (none for no keys)."""
    unique = list(dict.fromkeys(keys))
    if not unique:
        return
    if conn.dialect.name == "postgresql":
        array = sa.bindparam(None, unique, type_=postgresql.ARRAY(sa.Text))
        yield column == sa.any_(array)
        return
    for chunk in chunks(unique):
        yield column.in_(chunk)


def chunks(values: Sequence[str], size: int = CHUNK) -> Iterator[Sequence[str]]:
    """`values` in slices of at most `size`."""
    for start in range(0, len(values), size):
        yield values[start : start + size]
