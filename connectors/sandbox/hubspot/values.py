"""HubSpot value formats: ISO-8601 millisecond instants, epoch ms, dates, probabilities."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation


class NotMidnight(ValueError):
    """A date property value that is not midnight UTC."""


_HOUR_MS = 3_600_000
_HOUR_PREFIX: dict[int, str] = {}


def iso_ms(ms: int) -> str:
    """Epoch milliseconds as HubSpot's `2024-05-01T12:00:00.123Z` (fast: generation uses it)."""
    hour, rest = divmod(ms, _HOUR_MS)
    prefix = _HOUR_PREFIX.get(hour)
    if prefix is None:
        prefix = datetime.fromtimestamp(hour * 3600, tz=UTC).strftime("%Y-%m-%dT%H:")
        _HOUR_PREFIX[hour] = prefix
    seconds, millis = divmod(rest, 1000)
    return f"{prefix}{seconds // 60:02d}:{seconds % 60:02d}.{millis:03d}Z"


def now_ms() -> int:
    """The current time in epoch milliseconds."""
    return int(datetime.now(UTC).timestamp() * 1000)


def parse_instant(text: str) -> int | None:
    """Epoch ms of an epoch-ms string or an ISO-8601 instant (naive = UTC); None if bad."""
    value = text.strip()
    if value.lstrip("-").isdigit():
        return int(value)
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def parse_date(text: str) -> date | None:
    """A date property value (`YYYY-MM-DD`, or an ISO/epoch-ms instant at midnight UTC).

    Returns None when unparseable; raises NotMidnight for an instant at another time.
    """
    value = text.strip()
    if len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    ms = parse_instant(value)
    if ms is None:
        return None
    if ms % 86_400_000:
        raise NotMidnight(value)
    return datetime.fromtimestamp(ms // 1000, tz=UTC).date()


def midnight_time_of_day(text: str) -> str:
    """HubSpot's wording of the time of a non-midnight date value, e.g. `10:0:0.0`."""
    ms = parse_instant(text) or 0
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return f"{moment.hour}:{moment.minute}:{moment.second}.{moment.microsecond // 1000}"


def parse_number(text: str) -> Decimal | None:
    """A number property value as Decimal; None when it is not a finite number."""
    try:
        number = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def probability_text(probability: str) -> str:
    """HubSpot's `hs_deal_stage_probability`: the exact expansion of the binary float."""
    return format(Decimal(float(probability)), "f")
