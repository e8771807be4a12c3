"""The three flag values, what the CRM holds as best known, what it should hold, and field names.

"Known" is the newest of two observations: the deal row as the last sync read it
(`deals.flag_*`, as of `deals.synced_at`) and the toolkit's own last successful write
(`stale_deal_flags.crm_flag_*`, as of `pushed_at`). A deal whose known values equal the
desired ones costs no API call.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connectors.base import CrmConnector
from pipelines_etl.config import AppConfig
from pipelines_etl.sources import Source

MEANINGS: tuple[str, ...] = ("flagged", "reason", "since")
# Where a flag row asks for the flag to be on the deal.
FLAGGING_STATES = frozenset({"proposed", "pushed"})
# Text lengths of the reason field when describe does not say (Salesforce text 255; HubSpot
# string properties hold 65,536 characters).
REASON_LENGTHS: Mapping[str, int] = {"salesforce": 255, "hubspot": 65_536}


def as_date(value: Any) -> dt.date | None:
    """A date from a date, a datetime (its UTC date) or ISO text; None when empty."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).date() if value.tzinfo else value.date()
    if isinstance(value, dt.date):
        return value
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        return as_date(value.to_pydatetime())
    return dt.date.fromisoformat(str(value)[:10])


def _missing(value: Any) -> bool:
    try:
        return value is None or bool(value != value)  # NaN, NA
    except (TypeError, ValueError):
        return False


@dataclass(frozen=True)
class FlagValues:
    """Flagged, reason and since of one deal; unset reads as (False, None, None)."""

    flagged: bool = False
    reason: str | None = None
    since: dt.date | None = None

    @classmethod
    def of(cls, flagged: Any, reason: Any, since: Any) -> FlagValues:
        """Normalized values: None/NA flag is False, empty reason is None, since a date."""
        flag = False if _missing(flagged) else bool(flagged)
        text = None if _missing(reason) or str(reason) == "" else str(reason)
        return cls(flag, text, None if _missing(since) else as_date(since))

    def as_dict(self) -> dict[str, Any]:
        """Meaning -> value."""
        return {"flagged": self.flagged, "reason": self.reason, "since": self.since}

    def changes_to(self, desired: FlagValues) -> dict[str, tuple[Any, Any]]:
        """Meaning -> (old, new) of the fields `desired` changes."""
        old, new = self.as_dict(), desired.as_dict()
        return {m: (old[m], new[m]) for m in MEANINGS if old[m] != new[m]}


CLEARED = FlagValues()


def text_of(value: Any) -> str | None:
    """A flag value as `flag_writes` text: true/false, ISO date, the reason; None stays None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def known_values(row: Mapping[str, Any]) -> FlagValues:
    """What the CRM holds as best known, from a plan row (flag row joined with its deal)."""
    synced = FlagValues.of(row.get("deal_flag_stale"), row.get("deal_flag_reason"),
                           row.get("deal_flag_since"))  # fmt: skip
    pushed_at, synced_at = row.get("pushed_at"), row.get("deal_synced_at")
    if pushed_at is not None and (synced_at is None or synced_at <= pushed_at):
        return FlagValues.of(row.get("crm_flag_stale"), row.get("crm_flag_reason"),
                             row.get("crm_flag_since"))  # fmt: skip
    return synced


def toolkit_flag_on(row: Mapping[str, Any]) -> bool:
    """Whether the toolkit's last successful write to this deal set the flag."""
    return row.get("pushed_at") is not None and bool(row.get("crm_flag_stale"))


def desired_values(row: Mapping[str, Any]) -> FlagValues | None:
    """What the CRM should hold for a flag row; None: leave the deal alone.

    Flagging states want the flag, reason and since; a cleared row wants the toolkit's own
    flag removed (a flag the toolkit never set is not ours to clear); dismissed wants nothing.
    """
    state = row.get("state")
    if state in FLAGGING_STATES:
        return FlagValues(True, row.get("reason"), as_date(row.get("flagged_since")))
    if state == "cleared" and toolkit_flag_on(row):
        return CLEARED
    return None


def field_names(source: Source, app_config: AppConfig) -> dict[str, str]:
    """Meaning -> the CRM field name configured for this source's kind of CRM."""
    return source.flag_fields(app_config)


def connect(source: Source, *, env: Mapping[str, str], app_config: AppConfig) -> CrmConnector:
    """The source's connector, with the configured flag field names (source options win)."""
    return source.connect(env, app_config)
