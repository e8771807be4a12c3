"""Generated modification stamps are spread over the past: none at or after the anchor
(today's midnight), none before the last stage change, only a few in the last hours, and no
pile just before the anchor that an incremental sync's overlap window would re-read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from connectors.sandbox.hubspot.generate import generate_state
from connectors.sandbox.hubspot.state import HubSpotState
from connectors.sandbox.hubspot.values import iso_ms
from connectors.sandbox.salesforce.generate import generate
from connectors.sandbox.salesforce.state import OrgState

ANCHOR = datetime(2026, 6, 15, tzinfo=UTC)
DEALS = 4000
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


@pytest.fixture(scope="module")
def org() -> OrgState:
    return generate(deals=DEALS, seed=31, anchor=ANCHOR)


@pytest.fixture(scope="module")
def portal() -> HubSpotState:
    return generate_state(deals=DEALS, seed=31)


def _ages_ms(stamps: list[datetime], anchor: datetime) -> np.ndarray:
    return np.array([(anchor - stamp) / timedelta(milliseconds=1) for stamp in stamps])


def test_salesforce_stamps_are_in_the_past_and_after_the_last_stage_change(org: OrgState) -> None:
    rows = list(org.table("Opportunity").values())
    for row in rows:
        assert row["LastStageChangeDate"] <= row["LastModifiedDate"] <= row["SystemModstamp"]
        assert row["SystemModstamp"] < ANCHOR
        assert row["CreatedDate"] <= row["LastStageChangeDate"]
    ages = _ages_ms([row["SystemModstamp"] for row in rows], ANCHOR)
    newest = ages.min()
    assert (ages <= newest + 60_000).sum() <= 5  # was every open deal touched lately
    assert (ages < 5 * 60_000).sum() <= 10
    assert 0 < (ages < DAY_MS).sum() < DEALS * 0.05  # a few in the last day
    assert np.median(ages) > 30 * DAY_MS  # most months ago
    assert len(set(ages.tolist())) > DEALS * 0.95  # spread, not bunched


def test_salesforce_history_ends_at_or_before_the_last_modification(org: OrgState) -> None:
    table = org.table("OpportunityHistory")
    rows = org.table("Opportunity")
    opportunities = list(rows)[:300]
    for row in table.rows_for(opportunities):  # type: ignore[attr-defined]
        assert row["CreatedDate"] <= rows[row["OpportunityId"]]["LastModifiedDate"]


def test_salesforce_stamps_follow_the_seed() -> None:
    first = generate(deals=200, seed=9, anchor=ANCHOR).table("Opportunity")
    again = generate(deals=200, seed=9, anchor=ANCHOR).table("Opportunity")
    other = generate(deals=200, seed=10, anchor=ANCHOR).table("Opportunity")
    stamps = [r["SystemModstamp"] for r in first.values()]
    assert stamps == [r["SystemModstamp"] for r in again.values()]
    assert stamps != [r["SystemModstamp"] for r in other.values()]


def _anchor_ms() -> int:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return int(today.timestamp() * 1000)


def test_hubspot_modification_and_archive_times_are_spread_over_the_past(
    portal: HubSpotState,
) -> None:
    anchor = _anchor_ms()
    deals = list(portal.deals.values())
    for deal in deals:
        assert deal.stages[-1][1] <= deal.modified_ms < anchor
        assert deal.props["hs_lastmodifieddate"] == iso_ms(deal.modified_ms)
    ages = np.array([anchor - deal.modified_ms for deal in deals if not deal.archived])
    assert (ages <= ages.min() + 300_000).sum() < DEALS * 0.01  # the search lookback: thin
    assert (ages < 3 * HOUR_MS).sum() < DEALS * 0.05
    assert np.median(ages) > 7 * DAY_MS
    archived = [deal for deal in deals if deal.archived]
    assert len(archived) > DEALS * 0.01
    archive_ms = np.array(
        [datetime.fromisoformat(deal.archived_at).timestamp() * 1000 for deal in archived]  # type: ignore[arg-type]
    )
    assert (archive_ms < anchor).all()
    assert all(
        datetime.fromisoformat(d.archived_at).timestamp() * 1000 >= d.modified_ms  # type: ignore[arg-type]
        for d in archived
    )
    assert (archive_ms >= archive_ms.max() - 300_000).sum() <= 5  # not piled at midnight


def test_hubspot_stamps_follow_the_seed() -> None:
    first = generate_state(deals=150, seed=3)
    again = generate_state(deals=150, seed=3)
    assert [d.modified_ms for d in first.deals.values()] == [
        d.modified_ms for d in again.deals.values()
    ]
    assert [d.archived_at for d in first.deals.values()] == [
        d.archived_at for d in again.deals.values()
    ]
