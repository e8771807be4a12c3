"""Extract commits several pages per transaction: the newest cursor with the rows it covers,
a record on a later page over its earlier version, and the pages read before a CRM failure."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from connectors.base import DealPage
from pipelines_etl.steps import raw_json
from pipelines_etl.steps.extract import DEALS_STREAM, extract_deals, modification_stamps
from transforms.value_parsing import parse_timestamp
from warehouse.cursors import read_cursor
from warehouse.engine import create_warehouse_engine
from warehouse.migrate import upgrade
from warehouse.schema import raw_deals, raw_stage_history


class Boom(RuntimeError):
    """The CRM failed mid-extract."""


class FakeConnector:
    """Just what extract_deals calls: pages of `{"id", "modified", "name"}` deals."""

    source = "fake"

    def __init__(self, pages: list[DealPage], fail_after: int | None = None) -> None:
        self.pages = pages
        self.fail_after = fail_after

    def deals_since(self, cursor: str | None) -> Iterator[DealPage]:
        for index, page in enumerate(self.pages):
            if self.fail_after is not None and index == self.fail_after:
                raise Boom("the CRM hung up")
            yield page

    def flatten_deals(self, payloads: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "source_id": [p["id"] for p in payloads],
                "last_modified_at": [p["modified"] for p in payloads],
            },
            dtype=object,
        )

    def deal_stamps(
        self, payloads: Sequence[Mapping[str, Any]]
    ) -> list[tuple[str | None, str | None]]:
        return [(p["id"], p["modified"]) for p in payloads]

    def history_keys(self, payloads: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
        return [(p["deal"], p["key"]) for p in payloads]


def _page(ids: list[str], *, cursor: str | None, name: str = "v1") -> DealPage:
    deals = [{"id": i, "modified": "2026-01-01T00:00:00Z", "name": name} for i in ids]
    history = [{"deal": i, "key": "h1", "stage": "a"} for i in ids]
    return DealPage(deals, history, cursor)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = create_warehouse_engine(f"sqlite:///{tmp_path / 'w.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def _commits(engine: sa.Engine) -> list[int]:
    seen: list[int] = []
    sa.event.listen(engine, "commit", lambda conn: seen.append(1))
    return seen


def _raw(engine: sa.Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(raw_deals.c.source_id, raw_deals.c.payload)).all())


def test_pages_commit_together_with_the_newest_cursor(engine: sa.Engine) -> None:
    pages = [
        _page(["1", "2"], cursor=None),
        _page(["3"], cursor="c2"),
        _page(["1"], cursor=None, name="v2"),  # a later page replaces the earlier version
        _page(["4", "5"], cursor=None),
    ]
    commits = _commits(engine)
    result = extract_deals(
        engine=engine, connector=FakeConnector(pages), run_id="r", full=True, commit_deals=4
    )
    # Pages 1-3 (4 deals) in one transaction with cursor c2; page 4 in the last one.
    assert commits == [1, 1]  # two extract transactions
    assert (result.pages, result.deals_read, result.history_read) == (4, 6, 6)
    assert result.cursor_after == "c2"
    raw = _raw(engine)
    assert sorted(raw) == ["1", "2", "3", "4", "5"]
    assert '"name":"v2"' in raw["1"] and '"name":"v1"' in raw["2"]
    with engine.connect() as conn:
        assert read_cursor(conn, "fake", DEALS_STREAM) == "c2"
        assert conn.execute(sa.select(sa.func.count()).select_from(raw_stage_history)).scalar() == 5


def test_a_crm_failure_keeps_the_pages_read_before_it(engine: sa.Engine) -> None:
    pages = [_page(["1"], cursor="c1"), _page(["2"], cursor="c2"), _page(["3"], cursor="c3")]
    connector = FakeConnector(pages, fail_after=2)
    with pytest.raises(Boom):
        extract_deals(engine=engine, connector=connector, run_id="r", full=True, commit_deals=10)
    assert sorted(_raw(engine)) == ["1", "2"]
    with engine.connect() as conn:
        assert read_cursor(conn, "fake", DEALS_STREAM) == "c2"


def test_a_failed_write_commits_neither_rows_nor_cursor(engine: sa.Engine) -> None:
    pages = [_page(["1"], cursor="c1"), _page(["2"], cursor="c2")]
    pages[1].history[0]["key"] = None  # a NULL key: the upsert refuses the whole transaction
    with pytest.raises(ValueError, match="NULL key"):
        extract_deals(
            engine=engine, connector=FakeConnector(pages), run_id="r", full=True, commit_deals=10
        )
    assert _raw(engine) == {}
    with engine.connect() as conn:
        assert read_cursor(conn, "fake", DEALS_STREAM) is None


def test_a_batch_failing_in_the_background_stops_the_extract_at_the_batch_before(
    engine: sa.Engine,
) -> None:
    # Batches of one page, written behind the reads: the second batch's write fails.
    pages = [_page([str(i)], cursor=f"c{i}") for i in range(1, 6)]
    pages[1].history[0]["key"] = None  # the upsert refuses batch 2's whole transaction
    commits = _commits(engine)
    with pytest.raises(ValueError, match="NULL key"):
        extract_deals(
            engine=engine, connector=FakeConnector(pages), run_id="r", full=True, commit_deals=1
        )
    assert commits == [1]  # batch 1 only; nothing after the failed batch was written
    assert sorted(_raw(engine)) == ["1"]
    with engine.connect() as conn:
        assert read_cursor(conn, "fake", DEALS_STREAM) == "c1"


def test_batches_written_behind_the_reads_keep_page_order(engine: sa.Engine) -> None:
    pages = [_page([str(i % 3)], cursor=f"c{i:02d}", name=f"v{i}") for i in range(12)]
    result = extract_deals(
        engine=engine, connector=FakeConnector(pages), run_id="r", full=True, commit_deals=1
    )
    assert result.cursor_after == "c11"
    raw = _raw(engine)
    # Each id's last page wins: ids 0, 1, 2 were last on pages 9, 10, 11.
    assert ['"name":"v9"' in raw["0"], '"name":"v10"' in raw["1"], '"name":"v11"' in raw["2"]] == [
        True,
        True,
        True,
    ]
    with engine.connect() as conn:
        assert read_cursor(conn, "fake", DEALS_STREAM) == "c11"


def test_loads_many_matches_loads_and_keeps_its_errors() -> None:
    texts = ['{"a":1.5,"b":[0.10,{"c":-2}]}', "[1, 2.50]", '"x"', "null"]
    assert raw_json.loads_many(texts) == [raw_json.loads(t) for t in texts]
    assert repr(raw_json.loads_many(texts)[1][1]) == "Decimal('2.50')"
    assert raw_json.loads_many([]) == []
    with pytest.raises(ValueError, match="Extra data"):
        raw_json.loads_many(["1", "2]", "[3"])  # would join into valid JSON of another shape
    with pytest.raises(ValueError, match="Expecting value"):
        raw_json.loads_many(['{"a":1}', '{"a":'])


def test_loads_text_values_reads_history_entries_like_loads() -> None:
    texts = [
        '{"Id":"017A","OpportunityId":"006A","StageName":"Prospecting",'
        '"CreatedDate":"2026-01-02T03:04:05.000+0000"}',
        '{"value":"closedwon","timestamp":"2026-01-02T03:04:05.123Z","updatedByUserId":42}',
        '{"value":"Caf\\u00e9 stage"}',
    ]
    assert raw_json.loads_text_values(texts) == [raw_json.loads(t) for t in texts]
    assert raw_json.loads_text_values(texts)[2]["value"] == "Café stage"
    assert raw_json.loads_text_values([]) == []
    with pytest.raises(ValueError):
        raw_json.loads_text_values(["1", "2]", "[3"])  # would join into valid JSON of another shape


@pytest.mark.parametrize(
    "texts",
    [
        ["2026-03-05T09:00:00.000Z", "2026-03-05T09:00:00.000+0000", None],  # HubSpot, Salesforce
        ["2026-03-05T09:00:00.123456+02:00", "2026-03-05T09:00:00.5-0530"],
        ["2026-03-05", "2026-03-05T09:00:00Z"],  # a plain date: the pandas parser's midnight UTC
        ["garbage", "2026-03-05T09:00:00Z"],
        [],
    ],
)
def test_modification_stamps_agree_with_the_normalizers_parser(texts: list[str | None]) -> None:
    expected = [
        None if pd.isna(value) else value.to_pydatetime()
        for value in parse_timestamp(pd.Series(texts, dtype=object)).values
    ]
    stamps = modification_stamps(texts)
    assert stamps == expected
    assert all(stamp is None or stamp.utcoffset() == timedelta(0) for stamp in stamps)
