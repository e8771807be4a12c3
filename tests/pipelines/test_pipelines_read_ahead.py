"""read_ahead: same items in order, errors where they happened, a stopped reader cleans up."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from pipelines_etl.steps.read_ahead import read_ahead


def test_items_come_in_order_and_complete() -> None:
    with read_ahead(iter(range(1000)), depth=3) as items:
        assert list(items) == list(range(1000))


def test_the_next_item_is_produced_while_the_reader_holds_this_one() -> None:
    second_started = threading.Event()

    def pages() -> Iterator[int]:
        yield 1
        second_started.set()
        yield 2

    with read_ahead(pages()) as items:
        assert next(items) == 1
        # The reader has not asked for item 2, yet the producer is already on it.
        assert second_started.wait(timeout=5)
        assert next(items) == 2


def test_an_error_reaches_the_reader_after_the_items_before_it() -> None:
    def pages() -> Iterator[int]:
        yield 1
        yield 2
        raise ConnectionError("truncated page")

    seen: list[int] = []
    with pytest.raises(ConnectionError, match="truncated page"), read_ahead(pages()) as items:
        for item in items:
            seen.append(item)
    assert seen == [1, 2]


def test_leaving_early_stops_the_thread_and_closes_the_iterator() -> None:
    closed = threading.Event()
    produced: list[int] = []

    def pages() -> Iterator[int]:
        try:
            for n in range(1_000_000):
                produced.append(n)
                yield n
        finally:
            closed.set()

    with read_ahead(pages(), depth=2, name="test-reader") as items:
        assert next(items) == 0
    assert closed.is_set()
    assert len(produced) <= 3  # the one read and at most two waiting
    assert not [t for t in threading.enumerate() if t.name == "test-reader"]


def test_no_more_than_depth_items_are_built_ahead() -> None:
    produced: list[int] = []
    second_waiting = threading.Event()

    def pages() -> Iterator[int]:
        for n in range(10):
            produced.append(n)
            if n == 1:
                second_waiting.set()
            yield n

    with read_ahead(pages(), depth=1) as items:
        assert next(items) == 0
        assert second_waiting.wait(timeout=5)
        threading.Event().wait(0.2)  # time enough to build a third page, if it would
        assert produced == [0, 1]  # page 0 in hand, page 1 waiting, page 2 not started
        assert next(items) == 1


def test_items_are_read_ahead_by_weight() -> None:
    produced: list[int] = []
    done = threading.Event()

    def pages() -> Iterator[int]:
        for size in (4, 1, 1, 1, 5, 1):
            produced.append(size)
            yield size
        done.set()

    with read_ahead(pages(), depth=3, weight=lambda size: size) as items:
        assert next(items) == 4
        threading.Event().wait(0.3)  # time enough to build every page, if it would
        # 1 + 1 + 1 waiting weigh 3: the 5 is not built yet. It is once the waiting weight
        # drops below 3, heavier than the limit or not, so a big page never blocks.
        assert produced == [4, 1, 1, 1]
        assert list(items) == [1, 1, 1, 5, 1]
    assert done.is_set()


def test_depth_must_be_positive() -> None:
    with pytest.raises(ValueError, match="depth"), read_ahead(iter([1]), depth=0):
        pass
