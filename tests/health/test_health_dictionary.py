"""The committed data dictionary is exactly what `python -m warehouse.dictionary` prints."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from warehouse.dictionary import render
from warehouse.schema import metadata
from warehouse.views import VIEWS

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "data-dictionary.md"


def test_committed_dictionary_is_current() -> None:
    assert COMMITTED.read_text() == render(), (
        "docs/data-dictionary.md is stale: run"
        " `python -m warehouse.dictionary > docs/data-dictionary.md`"
    )


def test_every_table_column_and_view_is_documented() -> None:
    text = render()
    for table in metadata.tables.values():
        assert f"### `{table.name}`" in text
        for column in table.columns:
            assert f"| `{column.name}` |" in text
            assert column.comment, f"{table.name}.{column.name} has no comment"
    for view in VIEWS:
        assert f"### `{view.name}`" in text
    assert "| `amount_reporting` | money (24, 6) | yes |" in text
    assert "| `median_deal_size` | postgresql |" in text


def test_module_prints_the_dictionary() -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "warehouse.dictionary"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert printed == render()
