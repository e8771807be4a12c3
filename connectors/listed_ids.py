"""The live deal ids a full listing saw, kept briefly so the reconciliation needs no re-listing.

A first (or `--full`) sync lists every deal and, right after, the reconciliation asks the
same connector for every live id (`deal_ids`): a second listing of the whole CRM (about 1,000
HubSpot calls per 100,000 deals). `ListedIds.remember` wraps the full listing's pages and,
only when the listing ran to its end, keeps the ids of the live deals it yielded; `take` hands
them out once, if they are younger than `max_age_seconds`. A deal archived or deleted after
its page was read is caught by the next incremental sync (archived pass, queryAll) as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

Page = TypeVar("Page")


@dataclass(frozen=True)
class IdSnapshot:
    """Live ids of one complete listing, and when (monotonic seconds) that listing started."""

    ids: tuple[str, ...]
    started_at: float

    def pages(self, size: int) -> Iterator[list[str]]:
        """The ids in lists of at most `size` (no empty page unless there are no ids)."""
        if not self.ids:
            yield []
            return
        for start in range(0, len(self.ids), size):
            yield list(self.ids[start : start + size])


class ListedIds:
    """Remembers the live ids of the last complete full listing for one later `take`."""

    def __init__(
        self, *, max_age_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_age_seconds = max_age_seconds
        self._clock = clock
        self._snapshot: IdSnapshot | None = None

    def remember(
        self, pages: Iterator[Page], *, live_ids: Callable[[Page], list[str]]
    ) -> Iterator[Page]:
        """Yield `pages` unchanged; keep their live ids if (and only if) all of them came."""
        self._snapshot = None
        started = self._clock()
        seen: list[str] = []
        for page in pages:
            if self.max_age_seconds > 0:
                seen.extend(live_ids(page))
            yield page
        if self.max_age_seconds > 0:
            self._snapshot = IdSnapshot(tuple(dict.fromkeys(seen)), started)

    def take(self) -> IdSnapshot | None:
        """The remembered ids, once, when fresh enough; None means: list them from the CRM."""
        snapshot, self._snapshot = self._snapshot, None
        if snapshot is None or self._clock() - snapshot.started_at > self.max_age_seconds:
            return None
        return snapshot
