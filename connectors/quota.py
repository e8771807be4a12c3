"""A guard that stops a connector before it spends more than its share of a CRM's API quota.

The CRMs report usage on their replies (Salesforce `Sforce-Limit-Info: api-usage=18/15000`,
HubSpot `X-HubSpot-RateLimit-Daily[-Remaining]`). A connector feeds every reading to
`observe`; once used/total reaches the configured share, the guard raises
`connectors.base.QuotaExhausted` and keeps raising on `check`, so the run stops cleanly and
leaves the rest of the day's quota to the CRM's other integrations and its users.
"""

from __future__ import annotations

from dataclasses import dataclass

from connectors.base import QuotaExhausted


@dataclass(frozen=True)
class QuotaReading:
    """One usage report from a CRM: calls used and the quota they count against."""

    used: int
    total: int

    @property
    def share(self) -> float:
        """The spent fraction of the quota (0 when the total is unknown or zero)."""
        return self.used / self.total if self.total > 0 else 0.0


class QuotaGuard:
    """Raises `QuotaExhausted` once the observed API usage reaches `max_share` of the quota."""

    def __init__(self, *, max_share: float, source: str) -> None:
        if not 0.0 < max_share <= 1.0:
            raise ValueError(f"max_share must be in (0, 1], got {max_share!r}")
        self.max_share = max_share
        self.source = source
        self.last: QuotaReading | None = None
        self._exhausted_message: str | None = None

    def __repr__(self) -> str:
        return (
            f"QuotaGuard(source={self.source!r}, max_share={self.max_share!r}, last={self.last!r})"
        )

    def observe(self, *, used: int, total: int) -> None:
        """Record a usage reading from the CRM; raise `QuotaExhausted` when over the share."""
        if used < 0 or total < 0:
            raise ValueError(f"API usage must be non-negative, got used={used}, total={total}")
        self.last = QuotaReading(used=used, total=total)
        if total > 0 and used / total >= self.max_share:
            self._exhausted_message = (
                f"{self.source}: API quota share spent: {used} of {total} daily calls used "
                f"({used / total:.0%}), the configured limit is {self.max_share:.0%} "
                "(max_quota_share). Stopping so the CRM's other users keep their quota; "
                "run again after the quota resets, or raise max_quota_share."
            )
        self.check()

    def exhaust(self, message: str) -> None:
        """Mark the quota spent because the CRM itself said so, and raise `QuotaExhausted`."""
        self._exhausted_message = message
        self.check()

    def check(self) -> None:
        """Raise `QuotaExhausted` if an earlier reading crossed the share; cheap, call it often."""
        if self._exhausted_message is not None:
            raise QuotaExhausted(self._exhausted_message)
