"""REST query pages rendered ahead: the next page of a cursor, built in the background.

A client reads a cursor page after page (`nextRecordsUrl`), and a page's first read costs
~15-20 ms of projection and serialization at 2,000 records. So when a cursor is created and
whenever one of its pages is served, one small worker thread renders the cursor's next page
while the client is busy with the one it got; its request is then answered from ready bytes.

Bounded: one worker for the org, at most one page per cursor (queued, rendering or ready),
dropped with the cursor when it is released. Correct after writes: a ready page is served
only while every record on it still holds the very `SystemModstamp` object it was rendered
with (each write to an Opportunity assigns a new stamp, writes.py); otherwise the caller
renders afresh. Only cursors whose pages a write can change only by moving the stamp are
rendered ahead (see `page_json.KEPT_OBJECTS`: Opportunity, projections without
relationships).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

IDLE_SECONDS = 5.0  # the worker exits after this long without work (restarted on demand)
WAIT_SECONDS = 5.0  # longest wait for a page the worker is rendering right now


@dataclass(frozen=True)
class ReadyPage:
    """A page's JSON as the API sends it, and what it was rendered from."""

    start: int
    version: str
    stamps: tuple[Any, ...]  # each record's SystemModstamp object, in page order
    body: bytes

    def still_valid(self, rows: Sequence[dict[str, Any]]) -> bool:
        """Whether no record of `rows` (the page's records now) was written since it was
        rendered. Call with the org's lock held."""
        return len(rows) == len(self.stamps) and all(
            row.get("SystemModstamp") is stamp for row, stamp in zip(rows, self.stamps, strict=True)
        )


@dataclass(eq=False)
class PrefetchSlot:
    """A cursor's one page ahead; guarded by the prefetcher's condition."""

    wanted: tuple[int, str] | None = None  # (start, version) queued for the worker
    rendering: int | None = None  # start the worker is rendering now
    ready: ReadyPage | None = None
    released: bool = False


Renderer = Callable[[Any, int, str], ReadyPage | None]


class Prefetcher:
    """One lazily started worker rendering queued pages with `render(owner, start, version)`
    (which takes the org's lock as it needs; None when the page cannot be rendered ahead)."""

    def __init__(self, render: Renderer) -> None:
        self.render = render
        self._condition = threading.Condition()
        self._queue: deque[tuple[Any, PrefetchSlot]] = deque()
        self._worker: threading.Thread | None = None
        self._rendering = False

    def schedule(self, owner: Any, slot: PrefetchSlot, *, start: int, version: str) -> None:
        """Render `owner`'s page at `start` ahead, replacing whatever page it had ahead."""
        with self._condition:
            if slot.released or slot.rendering == start:
                return
            if slot.ready is not None:
                if slot.ready.start == start and slot.ready.version == version:
                    return
                slot.ready = None
            if slot.wanted is None:
                self._queue.append((owner, slot))
            slot.wanted = (start, version)
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._run, name="sandbox-sf-prefetch", daemon=True
                )
                self._worker.start()
            self._condition.notify_all()

    def take(self, slot: PrefetchSlot, *, start: int, version: str) -> ReadyPage | None:
        """The page at `start` if it was rendered ahead (waiting while the worker is still on
        it), handed over once; None otherwise (a queued render of it is called off, as the
        caller renders it now)."""
        with self._condition:
            if slot.wanted is not None and slot.wanted[0] == start:
                slot.wanted = None  # the worker skips it
            if slot.rendering == start:
                self._condition.wait_for(lambda: slot.rendering != start, timeout=WAIT_SECONDS)
            ready = slot.ready
            if ready is None or ready.start != start or ready.version != version:
                return None
            slot.ready = None
            return ready

    def release(self, slot: PrefetchSlot) -> None:
        """The cursor was released: drop its page ahead and never render one again."""
        with self._condition:
            slot.released = True
            slot.wanted = None
            slot.ready = None

    def idle(self, timeout: float = 10.0) -> bool:
        """Wait until nothing is queued or rendering (for tests and benchmarks)."""
        with self._condition:
            return self._condition.wait_for(
                lambda: not self._queue and not self._rendering, timeout=timeout
            )

    def _run(self) -> None:
        """The worker: render queued pages until idle for IDLE_SECONDS."""
        while True:
            with self._condition:
                if not self._condition.wait_for(lambda: self._queue, timeout=IDLE_SECONDS):
                    self._worker = None
                    self._condition.notify_all()
                    return
                owner, slot = self._queue.popleft()
                wanted, slot.wanted = slot.wanted, None
                if wanted is None or slot.released:
                    self._condition.notify_all()
                    continue
                start, version = wanted
                slot.rendering = start
                self._rendering = True
            try:
                page = self.render(owner, start, version)
            except Exception:  # a failed render only means no page ahead
                page = None
            with self._condition:
                slot.rendering = None
                self._rendering = False
                if page is not None and not slot.released and slot.wanted is None:
                    slot.ready = page
                self._condition.notify_all()
