"""Read the next CRM page while the current one is written to the warehouse.

`read_ahead` runs an iterator in a background thread and keeps at most `depth` finished items
waiting, so the download (network, the CRM's own time, JSON decoding) overlaps the sync's
flattening and loading instead of taking turns with it. Only the background thread advances
the iterator; an error it raises reaches the reader at the same place in the sequence, and
leaving the `with` block early stops the thread and closes the iterator.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar, cast

Item = TypeVar("Item")
_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class _Failed:
    error: BaseException


class _End:
    pass


_END = _End()


class _Reader(Generic[Item]):
    """The background thread and the hand-over queue of one `read_ahead`."""

    def __init__(self, items: Iterable[Item], depth: int, name: str) -> None:
        self._items = items
        self._queue: queue.Queue[Item | _Failed | _End] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _put(self, item: Item | _Failed | _End) -> bool:
        """Hand `item` over; False once the reader has stopped listening."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        iterator = iter(self._items)
        try:
            for item in iterator:
                if not self._put(item):
                    return
            self._put(_END)
        except BaseException as error:  # handed to the reader, who raises it
            self._put(_Failed(error))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    def items(self) -> Iterator[Item]:
        """The items in order; raises what the iterator raised, where it raised it."""
        while True:
            item = self._queue.get()
            if isinstance(item, _End):
                return
            if isinstance(item, _Failed):
                raise item.error
            yield cast(Item, item)

    def stop(self) -> None:
        """Stop reading ahead and wait for the thread (it closes the iterator)."""
        self._stop.set()
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
