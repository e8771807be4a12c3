"""The analyst views (written in SQL) agree with the pandas metrics on the same warehouse, on
SQLite and PostgreSQL (medians on PostgreSQL only); migration 0002 creates them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from pipelines_etl.config import AppConfig
from pipelines_etl.health import compute_health
from warehouse.migrate import current_revision, head_revision
from warehouse.views import VIEWS

# (key, owner, status, stage, created days ago, closed days ago, amount, probability, stays)
# stays: (stage, entered days ago, exited days ago or None, exit reason a/w/l or None)
DEALS: list[tuple[Any, ...]] = [
    ("W1", "ann", "won", 6, 60.5, 20.5, "100", "1", [(1, 60.5, 50.5, "a"), (3, 50.5, 20.5, "w")]),
    ("W2", "ann", "won", 6, 80.5, 30.5, "300", "1", [(2, 80.5, 40.5, "a"), (5, 40.5, 30.5, "w")]),
    ("W3", "ann", "won", 6, 300.5, 200.5, "1000", "1", [(4, 300.5, 200.5, "w")]),
    ("W6", "ann", "won", 6, 50.5, 2.5, None, "1", [(2, 50.5, 2.5, "w")]),
    ("L1", "ann", "lost", 2, 70.5, 10.5, "40", "0", [(1, 70.5, 60.5, "a"), (2, 60.5, 10.5, "l")]),
    ("O1", "ann", "open", 3, 50.5, None, "80", "0.5", [(1, 50.5, 45.5, "a"), (3, 45.5, None, "")]),
    ("O2", "ann", "open", 1, 5.5, None, None, "0.2", [(1, 5.5, None, None)]),
    ("W4", "bob", "won", 6, 100.5, 60.5, "250", "1", [(2, 100.5, 60.5, "w")]),
    ("W5", "bob", "won", 6, 40.5, 5.5, "150.25", "1", [(1, 40.5, 20.5, "a"), (2, 20.5, 5.5, "w")]),
    ("L2", "bob", "lost", 3, 200.5, 100.5, "70", "0", [(3, 200.5, 100.5, "l")]),
    ("O3", "bob", "open", 5, 30.5, None, "500", "0.9", [(4, 30.5, 15.5, "a"), (5, 15.5, None, "")]),
    ("O4", "bob", "open", None, 12.5, None, "20", "0.1", []),
    ("O5", "cy", "open", 2, 400.5, None, "60", "0.3", [(2, 400.5, None, None)]),
    ("O6", None, "open", 2, 25.5, None, "10", "0.5", [(2, 25.5, None, None)]),
]  # fmt: skip
REASONS = {"a": "advanced", "w": "won", "l": "lost"}


@pytest.fixture
def views_engine(engine, rows):
    """A warehouse whose deals sit at fixed distances from now (half days: no boundary)."""
    now = dt.datetime.now(dt.UTC)

    def ago(days: float | None) -> dt.datetime | None:
        return None if days is None else now - dt.timedelta(days=days)

    deal_rows, stay_rows = [], []
    for key, owner, status, stage, created, closed, amount, probability, stays in DEALS:
        deal_rows.append(
            rows.deal(
                f"salesforce:{key}",
                owner_email=None if owner is None else f"{owner}@example.com",
                status=status,
                stage_number=stage,
                created_at=ago(created),
                closed_at=ago(closed),
                amount_reporting=None if amount is None else Decimal(amount),
                probability=Decimal(probability),
            )
        )
        for stay_stage, entered, exited, reason in stays:
            start, end = ago(entered), ago(exited)
            stay_rows.append(
                {
                    **rows.stay(
                        f"salesforce:{key}", stay_stage, "2026-01-01", None, REASONS.get(reason)
                    ),
                    "entered_at": start,
                    "exited_at": end,
                    "duration_days": None if end is None else (end - start).total_seconds() / 86400,
                }
            )
    deal_rows.append(  # neither a retention deal nor a deleted one counts
        rows.deal("salesforce:R1", motion="retention", stage_number=7, amount_reporting=Decimal(9))
    )
    deal_rows.append(
        rows.deal("salesforce:X1", is_deleted=True, stage_number=3, amount_reporting=Decimal(7))
    )
    rows.insert(engine, rows.deals, deal_rows)
    rows.insert(engine, rows.stays, stay_rows)
    return engine


def _view(engine, name: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.text("SELECT * FROM " + name))]


def _close(sql_value: Any, pandas_value: Any) -> bool:
    if pandas_value is None or sql_value is None:
        return sql_value is None and pandas_value is None
    return float(sql_value) == pytest.approx(float(pandas_value), rel=1e-9)


def _pandas(engine):
    return compute_health(engine, app_config=AppConfig(), as_of=pd.Timestamp.now(tz="UTC"))


def test_migrations_create_the_views(engine) -> None:
    assert current_revision(engine) == head_revision()
    names = set(sa.inspect(engine).get_view_names())
    assert {view.name for view in VIEWS} <= names


def test_pipeline_by_stage_matches_stage_distribution(views_engine) -> None:
    distribution = _pandas(views_engine).value("stage_distribution")
    found = {
        "unknown" if r["stage_number"] is None else str(r["stage_number"]): r
        for r in _view(views_engine, "v_pipeline_by_stage")
    }
    assert set(found) == set(distribution) == {"1", "2", "3", "4", "5", "6", "unknown"}
    for stage, bucket in distribution.items():
        row = found[stage]
        assert row["open_deals"] == bucket["count"], stage
        assert _close(row["open_amount"], bucket["amount"]), stage
        assert _close(row["weighted_amount"], bucket["weighted_amount"]), stage
    # by hand: stage 2 holds O5 (60, 0.3) and O6 (10, 0.5); stage 1 only O2 (amount unknown)
    assert found["2"]["open_deals"] == 2
    assert float(found["2"]["open_amount"]) == 70
    assert float(found["2"]["weighted_amount"]) == pytest.approx(23)
    assert found["1"]["open_amount"] is None and found["1"]["unconverted_deals"] == 1
    assert float(found["4"]["open_amount"]) == 0  # no deals: 0, not NULL


def test_stage_conversion_matches_pandas(views_engine) -> None:
    conversion = _pandas(views_engine).value("stage_conversion")
    found = {r["step"]: r for r in _view(views_engine, "v_stage_conversion")}
    assert list(conversion) == sorted(found)
    for step, value in conversion.items():
        assert _close(found[step]["conversion"], value), step
    # by hand: cohort for 2->3 is W1 W2 W4 W5 W6 L1 O1 O6 (O5 is older than 365 days);
    # reached 3: W1 W2 W4 W5 W6 O1; lost at 2: L1; O6 undecided
    assert (found["2->3"]["advanced"], found["2->3"]["lost_at_stage"]) == (6, 1)
    assert found["2->3"]["undecided"] == 1
    assert found["2->3"]["conversion"] == pytest.approx(6 / 7)


def test_owner_scorecard_matches_by_owner(views_engine) -> None:
    result = _pandas(views_engine)
    found = {r["owner_email"]: r for r in _view(views_engine, "v_owner_scorecard")}
    assert set(found) == {"ann@example.com", "bob@example.com", "cy@example.com"}
    postgres = views_engine.dialect.name == "postgresql"
    for owner, row in found.items():

        def figure(name: str, owner: str = owner) -> Any:
            return result.value(name, scope="owner", scope_key=owner)

        assert row["open_deals"] == figure("open_deals"), owner
        assert _close(row["open_amount"], figure("open_pipeline_amount")), owner
        assert _close(row["win_rate"], figure("win_rate")), owner
        assert _close(row["avg_deal_size"], figure("avg_deal_size")), owner
        if postgres:
            assert _close(row["median_deal_size"], figure("median_deal_size")), owner
        else:
            assert "median_deal_size" not in row  # SQLite has no median
    # by hand: ann won W1 W2 W6 and lost L1 in 90 days (W3 is older); W6's amount is unknown
    ann = found["ann@example.com"]
    assert (ann["won_90d"], ann["lost_90d"]) == (3, 1)
    assert ann["win_rate"] == pytest.approx(0.75)
    assert float(ann["avg_deal_size"]) == pytest.approx(200)
    bob = found["bob@example.com"]
    assert (bob["won_90d"], bob["lost_90d"], bob["win_rate"]) == (2, 0, 1.0)
    if postgres:
        assert float(bob["median_deal_size"]) == pytest.approx(200.125)  # (250 + 150.25) / 2
    cy = found["cy@example.com"]
    assert cy["win_rate"] is None and cy["avg_deal_size"] is None
    assert float(cy["open_amount"]) == 60


def test_views_on_an_empty_warehouse(engine) -> None:
    stages = _view(engine, "v_pipeline_by_stage")
    assert [(r["open_deals"], float(r["open_amount"])) for r in stages] == [(0, 0.0)] * 6
    assert {r["conversion"] for r in _view(engine, "v_stage_conversion")} == {None}
    assert _view(engine, "v_owner_scorecard") == []
