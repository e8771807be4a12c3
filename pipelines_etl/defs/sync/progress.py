"""Sync progress into Dagster's run log."""

from __future__ import annotations

import logging
from collections import Counter


class LogProgress:
    """A SyncProgress writing a line per phase and per 10,000 rows to a logger."""

    def __init__(self, log: logging.Logger | logging.LoggerAdapter, every: int = 10_000) -> None:
        self._log = log
        self._every = every
        self._rows: Counter[str] = Counter()

    def phase(self, source: str, phase: str) -> None:
        """Log the phase a source enters."""
        self._rows[source] = 0
        self._log.info("%s: %s", source, phase)

    def advance(self, source: str, rows: int) -> None:
        """Log every `every` rows."""
        before = self._rows[source]
        self._rows[source] += rows
        if before // self._every != self._rows[source] // self._every:
            self._log.info("%s: %s rows", source, f"{self._rows[source]:,}")
