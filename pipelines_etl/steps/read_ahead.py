"""Read the next CRM pages while the current one is flattened and written.

`read_ahead` runs an iterator in a background thread, which builds the next item only while
the finished items waiting weigh less than `depth` (the extract weighs a page by its
records: many small HubSpot pages may wait, but one Salesforce Bulk page at most). The
download (network, the CRM's own time, JSON decoding) then overlaps the sync's flattening
and loading instead of taking turns with it. Only the background thread advances the
iterator; an error it raises reaches the reader at the same place in the sequence, and
leaving the `with` block early stops the thread and closes the iterator.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar, cast

Item = TypeVar("Item")


@dataclass(frozen=True)
class _Failed:
    error: BaseException


class _End:
    pass


_END = _End()


def _one(_item: object) -> int:
    return 1


class _Reader(Generic[Item]):
    """The background thread and the hand-over slot of one `read_ahead`."""

    def __init__(
        self, items: Iterable[Item], depth: int, weight: Callable[[Item], int], name: str
    ) -> None:
        self._items = items
        self._depth = depth
        self._weight = weight
        self._waiting_weight = 0
        self._waiting: deque[tuple[Item | _Failed | _End, int]] = deque()
        self._changed = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _room(self) -> bool:
        """Wait until the waiting items weigh less than `depth` (so no more than that is ever
        built ahead); False once the reader has stopped listening."""
        with self._changed:
            while self._waiting_weight >= self._depth and not self._stopped:
                self._changed.wait()
            return not self._stopped

    def _put(self, item: Item | _Failed | _End, weight: int = 0) -> None:
        with self._changed:
            self._waiting.append((item, weight))
            self._waiting_weight += weight
            self._changed.notify_all()

    def _run(self) -> None:
        iterator = iter(self._items)
        try:
            while self._room():
                try:
                    item = next(iterator)
                except StopIteration:
                    self._put(_END)
                    return
                self._put(item, max(1, self._weight(item)))
        except BaseException as error:  # handed to the reader, who raises it
            self._put(_Failed(error))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    def items(self) -> Iterator[Item]:
        """The items in order; raises what the iterator raised, where it raised it."""
        while True:
            with self._changed:
                while not self._waiting:
                    self._changed.wait()
                item, weight = self._waiting.popleft()
                self._waiting_weight -= weight
                self._changed.notify_all()
            if isinstance(item, _End):
                return
            if isinstance(item, _Failed):
                raise item.error
            yield cast(Item, item)

    def stop(self) -> None:
        """Stop reading ahead and wait for the thread (it closes the iterator)."""
        with self._changed:
            self._stopped = True
            self._changed.notify_all()
        self._thread.join()


@contextmanager
def read_ahead(
    items: Iterable[Item],
    *,
    depth: int = 1,
    weight: Callable[[Item], int] | None = None,
    name: str = "read-ahead",
) -> Iterator[Iterator[Item]]:
    """`items`, produced by a background thread ahead of the reader while the items waiting
    weigh less than `depth` (each weighs `weight(item)`, at least 1; by default 1: `depth`
    items)."""
    if depth < 1:
        raise ValueError("depth must be at least 1")
    reader = _Reader(items, depth, weight or _one, name)
    try:
        yield reader.items()
    finally:
        reader.stop()
