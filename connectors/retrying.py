"""One retry policy for every CRM call: backoff with jitter, honouring Retry-After.

Each connector says which of its client's exceptions are retriable (429, 5xx, timeouts,
connection resets) and where a Retry-After hint is; everything else fails at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from tenacity import (
    RetryCallState,
    Retrying,
    before_sleep_log,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetrySettings:
    """How hard to try: attempts in all (first call included) and the longest single wait."""

    attempts: int = 5
    initial_wait: float = 0.5
    max_wait: float = 30.0


def _wait_with_retry_after(
    settings: RetrySettings, retry_after: Callable[[BaseException], float | None]
) -> Callable[[RetryCallState], float]:
    backoff = wait_random_exponential(multiplier=settings.initial_wait, max=settings.max_wait)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        hinted = retry_after(exc) if exc is not None else None
        if hinted is not None:
            return min(max(hinted, 0.0), settings.max_wait)
        return backoff(state)

    return wait


def retrying(
    *,
    settings: RetrySettings,
    is_retriable: Callable[[BaseException], bool],
    retry_after: Callable[[BaseException], float | None] = lambda _exc: None,
) -> Retrying:
    """A tenacity `Retrying` for one call: `for attempt in retrying(...): with attempt: ...`."""
    return Retrying(
        retry=retry_if_exception(is_retriable),
        stop=stop_after_attempt(settings.attempts),
        wait=_wait_with_retry_after(settings, retry_after),
        before_sleep=before_sleep_log(logger, logging.WARNING),
        reraise=True,
    )


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header value (delta-seconds form only), else None."""
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None
