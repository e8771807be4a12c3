"""Time windows for HubSpot's search API, each kept under its 10,000-result cap. Pure.

Search pages by offset and refuses `after` >= 10,000, so an incremental sync splits the time
range it must read into windows of at most `search_window` and halves any window whose
`total` reaches the cap. A single millisecond that alone holds the cap (a bulk import) cannot
be halved: it is read by paging on `hs_object_id` within that instant instead.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


@dataclass(frozen=True, order=True)
class Window:
    """An inclusive range of epoch milliseconds on hs_lastmodifieddate."""

    lo: int
    hi: int

    def __post_init__(self) -> None:
        if self.hi < self.lo:
            raise ValueError(f"window ends before it starts: {self.lo} > {self.hi}")


class WindowAction(Enum):
    """What to do with a window once its first search page told its total."""

    PAGE = "page"  # page through it by offset
    SPLIT = "split"  # too many results: halve the time range
    BY_ID = "by_id"  # one millisecond over the cap: page on hs_object_id within it


def initial_windows(lo: int, hi: int, *, span_ms: int) -> list[Window]:
    """Contiguous windows of at most `span_ms` covering [lo, hi], oldest first."""
    if span_ms <= 0:
        raise ValueError(f"span_ms must be positive, got {span_ms}")
    if hi < lo:
        return []
    windows: list[Window] = []
    start = lo
    while start <= hi:
        end = min(start + span_ms - 1, hi)
        windows.append(Window(start, end))
        start = end + 1
    return windows


def halve(window: Window) -> tuple[Window, Window]:
    """The two halves of a window of at least two milliseconds, oldest first."""
    if window.hi <= window.lo:
        raise ValueError("a one-millisecond window cannot be halved")
    mid = (window.lo + window.hi) // 2
    return Window(window.lo, mid), Window(mid + 1, window.hi)


def decide(window: Window, total: int, *, cap: int) -> WindowAction:
    """PAGE a window under the cap, else SPLIT it, or page BY_ID when it is one instant."""
    if total < cap:
        return WindowAction.PAGE
    return WindowAction.SPLIT if window.hi > window.lo else WindowAction.BY_ID


class WindowQueue:
    """Windows still to read, oldest first; `settle` replaces a window over the cap by halves."""

    def __init__(self, windows: Iterable[Window], *, cap: int) -> None:
        self._pending: deque[Window] = deque(sorted(windows))
        self.cap = cap

    def __bool__(self) -> bool:
        return bool(self._pending)

    def pop(self) -> Window:
        """The oldest window still to read."""
        return self._pending.popleft()

    def push_front(self, window: Window) -> None:
        """Read `window` next (the unread rest of a window whose results grew past the cap)."""
        self._pending.appendleft(window)

    def settle(self, window: Window, total: int) -> WindowAction:
        """Decide on a popped window from its search `total`; halves go back to the front."""
        action = decide(window, total, cap=self.cap)
        if action is WindowAction.SPLIT:
            first, second = halve(window)
            self._pending.appendleft(second)
            self._pending.appendleft(first)
        return action


def to_epoch_ms(value: str | None) -> int | None:
    """Epoch ms of HubSpot time text (ISO-8601 or epoch ms digits); None if unreadable."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    if text.isdigit():
        return int(text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return (parsed - EPOCH) // _MS


def format_epoch_ms(ms: int) -> str:
    """Epoch milliseconds as ISO-8601 UTC text with milliseconds, e.g. 2024-05-01T12:00:00.123Z."""
    moment = EPOCH + ms * _MS
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
