"""Pure Salesforce record handling: flattening to neutral frames, Bulk CSV rows, cursors.

No network here. REST records (JSON, numbers parsed as Decimal) and Bulk API 2.0 CSV rows
(converted by `records_from_csv`) come out the same shape, so `flatten_deals` serves both.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd

from connectors.base import HISTORY_COLUMNS, SOURCE_DEAL_COLUMNS, TruncatedResponse

FORECAST_CATEGORIES: dict[str, str] = {
    "Pipeline": "pipeline",
    "Best Case": "best_case",
    "BestCase": "best_case",
    "Commit": "commit",
    "Forecast": "commit",
    "Closed": "closed",
    "Omitted": "omitted",
}
_NUMERIC_TYPES = frozenset({"currency", "percent", "double"})
_INTEGER_TYPES = frozenset({"int"})
_CURSOR_SEPARATOR = "|"


# ---------------------------------------------------------------------------------- values


def decimal_text(value: Any) -> str | None:
    """A number as plain decimal text ("1200.50"), never through a float product."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    return format(number, "f")


def percent_to_fraction(value: Any) -> str | None:
    """Salesforce's 0-100 percent as 0-1 decimal text (75 -> "0.75", 100 -> "1")."""
    text = decimal_text(value)
    if text is None:
        return None
    fraction = (Decimal(text) / 100).normalize()
    return format(fraction, "f")


def forecast_category(value: Any) -> str | None:
    """ForecastCategoryName to the neutral vocabulary (Best Case -> best_case)."""
    if value is None or value == "":
        return None
    text = str(value)
    return FORECAST_CATEGORIES.get(text, text.strip().lower().replace(" ", "_"))


def parse_timestamp(value: str) -> datetime:
    """A Salesforce datetime ("...000+0000" or "...000Z") as an aware UTC datetime."""
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    elif len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp without a timezone: {value!r}")
    return parsed.astimezone(UTC)


def _bool_or_none(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1"}:
        return True
    if text in {"false", "0"}:
        return False
    raise ValueError(f"not a boolean: {value!r}")


# ---------------------------------------------------------------------------------- cursors


@dataclass(frozen=True, order=True)
class DealCursor:
    """Position in the (SystemModstamp, Id) order; inclusive: re-reading it is harmless."""

    stamp: datetime
    record_id: str

    def text(self) -> str:
        """The committed form, e.g. `2026-05-01T12:00:00.000Z|006...` (always UTC)."""
        stamp = self.stamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        return f"{stamp}{_CURSOR_SEPARATOR}{self.record_id}"

    @classmethod
    def parse(cls, text: str) -> DealCursor:
        """Read a committed cursor; raises ValueError with the bad text otherwise."""
        stamp, separator, record_id = text.partition(_CURSOR_SEPARATOR)
        if not separator:
            raise ValueError(f"not a Salesforce cursor (expected 'timestamp|id'): {text!r}")
        return cls(parse_timestamp(stamp), record_id)

    @classmethod
    def of_record(cls, record: Mapping[str, Any]) -> DealCursor:
        """The cursor just at a record (its SystemModstamp and Id)."""
        return cls(parse_timestamp(str(record["SystemModstamp"])), str(record["Id"]))

    def query_from(self, overlap_seconds: int) -> datetime:
        """The inclusive lower bound of the next query: the cursor less the overlap."""
        return self.stamp - timedelta(seconds=overlap_seconds)


def latest_cursor(
    current: DealCursor | None, records: Sequence[Mapping[str, Any]]
) -> DealCursor | None:
    """The larger of `current` and every record's own cursor (a cursor never moves back)."""
    best = current
    for record in records:
        candidate = DealCursor.of_record(record)
        if best is None or candidate > best:
            best = candidate
    return best


# ---------------------------------------------------------------------------------- Bulk CSV


def records_from_csv(
    text: str,
    *,
    field_types: Mapping[str, str],
    expected: int | None,
    sobject: str,
    fields: Sequence[str] | None = None,
    record_url: str | None = None,
) -> list[dict[str, Any]]:
    """Parse one Bulk API 2.0 result page into REST-shaped records.

    Empty fields become None, booleans bool, numbers Decimal, datetimes the REST form
    (`...000+0000`). With `fields`, keys come in that order (as a REST SELECT gives them),
    whatever order the CSV columns arrive in; with `record_url` (e.g.
    `/services/data/v59.0/sobjects/OpportunityHistory/`) each record's `attributes` also
    carries its REST `url`. A page whose rows are cut short, or whose row count differs from
    `Sforce-NumberOfRecords`, raises TruncatedResponse.
    """
    if not text.strip():
        if expected:
            raise TruncatedResponse(f"Bulk API page is empty but announced {expected} records")
        return []
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        raise TruncatedResponse(f"Bulk API page could not be parsed as CSV: {exc}") from exc
    header, body = rows[0], rows[1:]
    width = len(header)
    if (body and not text.endswith("\n")) or any(len(row) != width for row in body):
        raise TruncatedResponse("Bulk API page ends in the middle of a record")
    if expected is not None and len(body) != expected:
        raise TruncatedResponse(
            f"Bulk API page holds {len(body)} records, Sforce-NumberOfRecords said {expected}"
        )
    names, positions = _output_columns(header, fields)
    lowered = {name.lower(): kind for name, kind in field_types.items()}
    # Column by column (C-level transposes), so each cell costs one comprehension step.
    columns = list(zip(*body, strict=True)) if body else [() for _ in header]
    converted = [
        _convert_column(columns[i], lowered.get(header[i].lower(), "string")) for i in positions
    ]
    id_position = next((i for i, name in enumerate(header) if name.lower() == "id"), None)
    if record_url is not None and id_position is not None:
        attributes = [{"type": sobject, "url": record_url + i} for i in columns[id_position]]
    else:
        attributes = [{"type": sobject} for _ in body]
    keys = ["attributes", *names]
    rows_out = zip(attributes, *converted, strict=True)
    return [dict(zip(keys, values, strict=False)) for values in rows_out]


def _output_columns(
    header: Sequence[str], fields: Sequence[str] | None
) -> tuple[list[str], list[int]]:
    """Output names and their CSV positions: `fields` order when given, else the header's."""
    if fields is None:
        return list(header), list(range(len(header)))
    by_name = {name.lower(): index for index, name in enumerate(header)}
    missing = [name for name in fields if name.lower() not in by_name]
    if missing:
        raise TruncatedResponse(f"Bulk API page lacks the selected columns {missing}")
    return list(fields), [by_name[name.lower()] for name in fields]


def _convert_column(cells: Sequence[str], kind: str) -> list[Any]:
    """One CSV column as REST JSON values of its describe type; empty cells become None."""
    if kind == "boolean":
        return [None if cell == "" else _bool_or_none(cell) for cell in cells]
    if kind in _NUMERIC_TYPES:
        return [None if cell == "" else _number(cell, Decimal, InvalidOperation) for cell in cells]
    if kind in _INTEGER_TYPES:
        return [None if cell == "" else _number(cell, int, ValueError) for cell in cells]
    if kind == "datetime":
        return [
            None if cell == "" else (cell[:-1] + "+0000" if cell[-1] == "Z" else cell)
            for cell in cells
        ]
    return [None if cell == "" else cell for cell in cells]


def _number(cell: str, parse: Callable[[str], Any], error: type[Exception]) -> Any:
    try:
        return parse(cell)
    except error:
        return cell  # not a number after all: kept as text for the normalizer to quarantine


# ---------------------------------------------------------------------------------- flatten


def flatten_deals(
    payloads: Sequence[Mapping[str, Any]], *, flag_fields: Mapping[str, str]
) -> pd.DataFrame:
    """Opportunity records to SOURCE_DEAL_COLUMNS, values still as Salesforce gave them."""
    rows = [_deal_row(record, flag_fields) for record in payloads]
    return pd.DataFrame(rows, columns=list(SOURCE_DEAL_COLUMNS), dtype=object)


def _field_text(record: Mapping[str, Any], name: str) -> str | None:
    value = record.get(name)
    return None if value is None or value == "" else str(value)


def deal_stamp(record: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(source_id, last_modified_at text) of one Opportunity record, as `flatten_deals` has them."""
    return (
        _field_text(record, "Id"),
        _field_text(record, "LastModifiedDate") or _field_text(record, "SystemModstamp"),
    )


def _deal_row(record: Mapping[str, Any], flag_fields: Mapping[str, str]) -> dict[str, Any]:
    def text(name: str) -> str | None:
        return _field_text(record, name)

    source_id, last_modified_at = deal_stamp(record)

    flagged = flag_fields["flagged"]
    return {
        "source_id": source_id,
        "name": text("Name"),
        "pipeline": text("RecordTypeId") or "default",
        "source_stage": text("StageName"),
        "amount": decimal_text(record.get("Amount")),
        "currency": text("CurrencyIsoCode"),
        "probability": percent_to_fraction(record.get("Probability")),
        "forecast_category": forecast_category(record.get("ForecastCategoryName")),
        "owner_id": text("OwnerId"),
        "account_id": text("AccountId"),
        "lead_source": text("LeadSource"),
        "deal_type": text("Type"),
        "created_at": text("CreatedDate"),
        "close_date": text("CloseDate"),
        "last_activity_at": text("LastActivityDate"),
        "last_modified_at": last_modified_at,
        "is_deleted": bool(_bool_or_none(record.get("IsDeleted"))),
        "is_closed": _bool_or_none(record.get("IsClosed")),
        "is_won": _bool_or_none(record.get("IsWon")),
        "flag_stale": _bool_or_none(record.get(flagged)) if flagged in record else None,
        "flag_reason": text(flag_fields["reason"]),
        "flag_since": text(flag_fields["since"]),
    }


def flatten_history(payloads: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """OpportunityHistory rows to HISTORY_COLUMNS: only rows where StageName changed.

    Rows are ordered per opportunity by CreatedDate (input order breaks ties); the first row
    of each opportunity counts as entering its stage.
    """
    keyed = []
    for position, row in enumerate(payloads):
        deal_id, stage, created = (
            row.get("OpportunityId"),
            row.get("StageName"),
            row.get("CreatedDate"),
        )
        if not deal_id or not stage or not created:
            continue
        created = str(created)
        keyed.append((str(deal_id), _order_key(created), position, str(stage), created))
    keyed.sort()
    out: list[dict[str, str]] = []
    previous: tuple[str, str] | None = None
    for deal_id, _, _, stage, created in keyed:
        if previous is None or previous[0] != deal_id or previous[1] != stage:
            out.append({"source_id": deal_id, "source_stage": stage, "changed_at": created})
        previous = (deal_id, stage)
    return pd.DataFrame(out, columns=list(HISTORY_COLUMNS), dtype=object)


def _order_key(stamp: str) -> str:
    """A sortable UTC key of a Salesforce datetime, without parsing the usual UTC forms.

    `2024-05-01T12:00:00.000+0000` and `...000Z` are already UTC with milliseconds: their first
    23 characters sort as the instant does. Any other offset or precision is parsed.
    """
    if stamp[10:11] == "T" and (
        (len(stamp) == 28 and stamp.endswith("+0000")) or (len(stamp) == 24 and stamp[-1] == "Z")
    ):
        return stamp[:23] + "000"
    return f"{parse_timestamp(stamp):%Y-%m-%dT%H:%M:%S.%f}"
