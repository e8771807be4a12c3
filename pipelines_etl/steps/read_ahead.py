"""Read the next CRM page while the current one is written to the warehouse.

`read_ahead` runs an iterator in a background thread, which builds the next item only while
fewer than `depth` finished items wait: at most `depth` pages are held beyond the one being
written (a Bulk API page holds 50,000 records). The download (network, the CRM's own time,
JSON decoding) then overlaps the sync's flattening and loading instead of taking turns with
it. Only the background thread advances the iterator; an error it raises reaches the reader
at the same place in the sequence, and leaving the `with` block early stops the thread and
closes the iterator.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Iterator
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


class _Reader(Generic[Item]):
    """The background thread and the hand-over slot of one `read_ahead`."""

    def __init__(self, items: Iterable[Item], depth: int, name: str) -> None:
        self._items = items
        self._depth = depth
        self._waiting: deque[Item | _Failed | _End] = deque()
        self._changed = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _room(self) -> bool:
        """Wait until fewer than `depth` items wait (so no more than that are ever built
        ahead); False once the reader has stopped listening."""
        with self._changed:
            while len(self._waiting) >= self._depth and not self._stopped:
                self._changed.wait()
            return not self._stopped

    def _put(self, item: Item | _Failed | _End) -> None:
        with self._changed:
            self._waiting.append(item)
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
                self._put(item)
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
                item = self._waiting.popleft()
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
    items: Iterable[Item], *, depth: int = 1, name: str = "read-ahead"
) -> Iterator[Iterator[Item]]:
    """`items`, produced by a background thread up to `depth` items ahead of the reader."""
    if depth < 1:
        raise ValueError("depth must be at least 1")
    reader = _Reader(items, depth, name)
    try:
        yield reader.items()
    finally:
        reader.stop()
