"""Work an API wants done once its response has gone out (a page rendered ahead).

Started while the server is still writing the response, such work would hold the
interpreter lock against that write; the server runs it after the write instead. Outside the
server (a test or benchmark calling `handle()` directly) it runs at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_local = threading.local()


def after_response(work: Callable[[], object]) -> None:
    """Run `work` once the current response is sent (now, when no server is sending one)."""
    pending: list[Callable[[], object]] | None = getattr(_local, "pending", None)
    if pending is None:
        work()
    else:
        pending.append(work)


@contextmanager
def deferring() -> Iterator[list[Callable[[], object]]]:
    """Collect the `after_response` work of the request handled inside; the caller runs the
    yielded list after sending the response."""
    _local.pending = pending = []
    try:
        yield pending
    finally:
        _local.pending = None


def run_all(pending: list[Callable[[], object]]) -> None:
    """Run collected work in order (errors are the work's own business: it must not raise)."""
    for work in pending:
        work()
    pending.clear()
