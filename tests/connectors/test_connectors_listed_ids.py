"""`ListedIds`: a complete full listing's live ids, handed out once while fresh."""

from __future__ import annotations

from collections.abc import Iterator

from connectors.listed_ids import ListedIds


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _pages() -> Iterator[list[tuple[str, bool]]]:
    yield [("1", True), ("2", False)]
    yield [("3", True), ("1", True)]  # a repeat is kept once
    yield []


def _live(page: list[tuple[str, bool]]) -> list[str]:
    return [deal_id for deal_id, live in page if live]


def test_a_complete_listing_is_remembered_and_taken_once() -> None:
    clock = Clock()
    listed = ListedIds(max_age_seconds=60, clock=clock)
    assert list(listed.remember(_pages(), live_ids=_live)) == list(_pages())
    clock.now += 59
    snapshot = listed.take()
    assert snapshot is not None and snapshot.ids == ("1", "3")
    assert list(snapshot.pages(1)) == [["1"], ["3"]]
    assert listed.take() is None


def test_an_unfinished_listing_is_not_remembered() -> None:
    listed = ListedIds(max_age_seconds=60, clock=Clock())
    pages = listed.remember(_pages(), live_ids=_live)
    next(pages)
    pages.close()
    assert listed.take() is None


def test_old_or_disabled_snapshots_are_not_used() -> None:
    clock = Clock()
    listed = ListedIds(max_age_seconds=60, clock=clock)
    list(listed.remember(_pages(), live_ids=_live))
    clock.now += 61  # counted from the start of the listing
    assert listed.take() is None
    off = ListedIds(max_age_seconds=0, clock=clock)
    list(off.remember(_pages(), live_ids=_live))
    assert off.take() is None


def test_an_empty_crm_gives_one_empty_page() -> None:
    listed = ListedIds(max_age_seconds=60, clock=Clock())
    list(listed.remember(iter([]), live_ids=_live))
    snapshot = listed.take()
    assert snapshot is not None and list(snapshot.pages(100)) == [[]]
