"""key_filters: the rows whose key is in a long list, on SQLite (IN chunks) and PostgreSQL (ANY)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from warehouse.key_lists import CHUNK, chunks, key_filters


def test_key_filters_select_exactly_the_listed_keys(engine: Engine) -> None:
    table = sa.Table("key_list_probe", sa.MetaData(), sa.Column("key", sa.Text, primary_key=True))
    table.create(engine)
    keys = [f"k{i:06d}" for i in range(CHUNK + 2_500)]
    with engine.begin() as conn:
        others = [f"other{i}" for i in range(50)]  # rows no filter asks for
        conn.execute(sa.insert(table), [{"key": key} for key in [*keys, *others]])
        wanted = [*keys, "absent", keys[0]]  # a key twice and one the table lacks
        clauses = list(key_filters(conn, table.c.key, wanted))
        found = [
            key
            for clause in clauses
            for key in conn.execute(sa.select(table.c.key).where(clause)).scalars()
        ]
        nothing = list(key_filters(conn, table.c.key, []))
    assert sorted(found) == sorted(keys)  # each once, the absent key matching nothing
    assert nothing == []
    expected_clauses = 1 if engine.dialect.name == "postgresql" else 2
    assert len(clauses) == expected_clauses


def test_chunks_cover_the_values_in_order() -> None:
    assert [list(c) for c in chunks(["a", "b", "c", "d", "e"], size=2)] == [
        ["a", "b"],
        ["c", "d"],
        ["e"],
    ]
