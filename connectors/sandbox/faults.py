"""Fault injection plan: parse `--faults SPEC`, draw faults per request reproducibly, count them.

SPEC is a comma-separated list of `name=rate` (probability per request) or `name@n` (exactly
the n-th request, counting from 1). Names are those of `api.FAULT_NAMES`.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

from connectors.sandbox.api import FAULT_NAMES, REQUEST_FAULTS, STATUS_FAULTS, TRANSPORT_FAULTS

# When several faults are drawn for one request, the first of this order is applied.
_PRIORITY: tuple[str, ...] = (
    "reset",
    "timeout",
    "truncate",
    "expire",
    "quota",
    "429",
    "503",
    "502",
    "500",
)


@dataclass(frozen=True)
class FaultRule:
    """One part of a SPEC: a rate, or the number of the request it hits."""

    name: str
    rate: float | None = None
    nth: int | None = None


def parse_spec(spec: str | None) -> tuple[FaultRule, ...]:
    """Parse SPEC into rules; a bad part raises ValueError naming it."""
    rules: list[FaultRule] = []
    for raw in (spec or "").split(","):
        part = raw.strip()
        if not part:
            continue
        if "=" in part:
            name, _, value = part.partition("=")
            name = name.strip()
            try:
                rate = float(value)
            except ValueError:
                raise ValueError(f"bad fault {part!r}: rate must be a number in 0..1") from None
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"bad fault {part!r}: rate must be a number in 0..1")
            rule = FaultRule(name=name, rate=rate)
        elif "@" in part:
            name, _, value = part.partition("@")
            name = name.strip()
            if not value.strip().isdigit() or int(value) < 1:
                raise ValueError(f"bad fault {part!r}: @n needs a request number >= 1")
            rule = FaultRule(name=name, nth=int(value))
        else:
            raise ValueError(f"bad fault {part!r}: expected name=rate or name@n")
        if name not in FAULT_NAMES:
            known = ", ".join(sorted(FAULT_NAMES))
            raise ValueError(f"bad fault {part!r}: unknown name {name!r} (known: {known})")
        rules.append(rule)
    return tuple(rules)


@dataclass(frozen=True)
class Draw:
    """The faults drawn for one request."""

    transport: str | None = None  # one of TRANSPORT_FAULTS
    status: str | None = None  # one of STATUS_FAULTS
    request: frozenset[str] = frozenset()  # REQUEST_FAULTS for the API


class FaultPlan:
    """Draws faults per request from a seeded generator; thread-safe; counts what it injected."""

    def __init__(self, spec: str | None, *, seed: int) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._rules = parse_spec(spec)
        self._requests = 0
        self._counts: dict[str, int] = {}

    def set_spec(self, spec: str | None) -> None:
        """Replace the rules (the request numbering and counts go on)."""
        rules = parse_spec(spec)
        with self._lock:
            self._rules = rules

    def draw(self) -> Draw:
        """Draw the faults of the next request and count the ones applied."""
        with self._lock:
            self._requests += 1
            hit: set[str] = set()
            for rule in self._rules:
                if rule.nth is not None:
                    if rule.nth == self._requests:
                        hit.add(rule.name)
                elif self._rng.random() < (rule.rate or 0.0):
                    hit.add(rule.name)
            primary = next((name for name in _PRIORITY if name in hit), None)
            request = frozenset(hit & REQUEST_FAULTS)
            for name in ([primary] if primary else []) + sorted(request):
                self._counts[name] = self._counts.get(name, 0) + 1
        return Draw(
            transport=primary if primary in TRANSPORT_FAULTS else None,
            status=primary if primary in STATUS_FAULTS else None,
            request=request,
        )

    def counts(self) -> dict[str, int]:
        """How many of each fault were injected so far."""
        with self._lock:
            return dict(self._counts)

    @property
    def requests(self) -> int:
        """How many requests have drawn faults so far."""
        with self._lock:
            return self._requests
