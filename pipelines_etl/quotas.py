"""Sales quotas from the file `quotas_file` names (CSV or YAML), validated, into `quotas`.

Each row has an owner (email), a period and an amount in the reporting currency. A period is
a fiscal quarter (`2026-Q3` or `FY2026-Q3`), a calendar month (`2026-07`), a fiscal year
(`FY2026`), or explicit `period_start` / `period_end` dates (both included). Fiscal periods
follow `fiscal_year_start_month`, named by the calendar year they end in (as the metrics do).

CSV: a header row with `owner` (or `owner_email`), `amount`, and `period` or
`period_start`+`period_end`. YAML: a list of such mappings, or a mapping with a `quotas` list.
Errors name the file, the line (CSV) or entry (YAML), the column and the value.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
import yaml

from pipelines_etl.config import AppConfig, ConfigError
from transforms.fiscal import add_months, month_last_day
from warehouse.schema import quotas as quotas_table

OWNER_COLUMNS: tuple[str, ...] = ("owner", "owner_email")
KNOWN_COLUMNS = frozenset({*OWNER_COLUMNS, "period", "period_start", "period_end", "amount"})
MONEY_DECIMALS = 6
_QUARTER = re.compile(r"^(?:FY)?(\d{4})-?Q([1-4])$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^FY(\d{4})$", re.IGNORECASE)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class QuotaFileError(ConfigError):
    """A quotas file that cannot be used, said in one line naming file, row, column, value."""


@dataclass(frozen=True)
class QuotaRow:
    """One validated quota: owner email (lower case), first and last day, exact amount."""

    owner_email: str
    period_start: dt.date
    period_end: dt.date
    amount: Decimal


def fiscal_year_start(year: int, *, start_month: int) -> dt.date:
    """First day of fiscal year `year` (named by the calendar year it ends in)."""
    if start_month == 1:
        return dt.date(year, 1, 1)
    return dt.date(year - 1, start_month, 1)


def parse_period(text: str, *, start_month: int = 1) -> tuple[dt.date, dt.date]:
    """First and last day of `2026-Q3`, `FY2026-Q3`, `2026-07` or `FY2026`; ValueError else."""
    value = text.strip()
    if match := _QUARTER.match(value):
        first = add_months(
            fiscal_year_start(int(match[1]), start_month=start_month), 3 * (int(match[2]) - 1)
        )
        return first, add_months(first, 3) - dt.timedelta(days=1)
    if match := _MONTH.match(value):
        month = int(match[2])
        if not 1 <= month <= 12:
            raise ValueError("month must be 01-12")
        first = dt.date(int(match[1]), month, 1)
        return first, month_last_day(first)
    if match := _YEAR.match(value):
        first = fiscal_year_start(int(match[1]), start_month=start_month)
        return first, add_months(first, 12) - dt.timedelta(days=1)
    raise ValueError("expected a period such as 2026-Q3, FY2026-Q3, 2026-07 or FY2026")


def _records(path: Path) -> tuple[list[tuple[str, Mapping[str, Any]]], str]:
    """(where, mapping) per row of the file, and the word for a row ('line' or 'entry')."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise QuotaFileError(
            f"{path}: no such quotas file (quotas_file in the configuration)"
        ) from None
    except OSError as error:
        raise QuotaFileError(f"{path}: cannot read the quotas file ({error.strerror})") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            data = yaml.load(text, Loader=yaml.BaseLoader)  # BaseLoader: every scalar a string
        except yaml.YAMLError as error:
            raise QuotaFileError(f"{path}: not valid YAML ({error})") from None
        if isinstance(data, Mapping) and "quotas" in data:
            data = data["quotas"]
        if data is None:
            data = []
        if not isinstance(data, list):
            raise QuotaFileError(f"{path}: expected a list of quotas (or a `quotas:` list)")
        out = []
        for number, entry in enumerate(data, start=1):
            if not isinstance(entry, Mapping):
                raise QuotaFileError(f"{path}: entry {number}: expected a mapping, got {entry!r}")
            out.append((f"entry {number}", entry))
        return out, "entry"
    if path.suffix.lower() != ".csv":
        raise QuotaFileError(f"{path}: quotas file must be .csv, .yaml or .yml")
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in reader.fieldnames or []]
    if not header:
        return [], "line"
    reader.fieldnames = header
    rows = []
    for row in reader:
        if None in row:
            raise QuotaFileError(
                f"{path}: line {reader.line_num}: more values than the header's columns"
            )
        if all((v or "").strip() == "" for v in row.values()):
            continue
        rows.append((f"line {reader.line_num}", row))
    return rows, "line"


def _field(record: Mapping[str, Any], name: str) -> str | None:
    value = record.get(name)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _row(record: Mapping[str, Any], *, where: str, path: Path, start_month: int) -> QuotaRow:
    def fail(column: str, value: object, expected: str) -> QuotaFileError:
        return QuotaFileError(f"{path}: {where}, column {column}: {value!r}: {expected}")

    unknown = sorted(set(map(str, record)) - KNOWN_COLUMNS)
    if unknown:
        raise fail(
            unknown[0],
            record[unknown[0]],
            "unknown column; expected owner, period (or period_start and period_end), amount",
        )
    owner_column = next((c for c in OWNER_COLUMNS if c in record), "owner")
    owner = _field(record, owner_column)
    if owner is None or not _EMAIL.match(owner):
        raise fail(owner_column, record.get(owner_column), "expected the owner's email")
    period = _field(record, "period")
    start_text, end_text = _field(record, "period_start"), _field(record, "period_end")
    if period is not None:
        if start_text or end_text:
            raise fail("period", period, "give period or period_start/period_end, not both")
        try:
            first, last = parse_period(period, start_month=start_month)
        except ValueError as error:
            raise fail("period", period, str(error)) from None
    else:
        if start_text is None and end_text is None:
            raise fail("period", None, "expected a period or period_start and period_end")
        dates = []
        for column, text in (("period_start", start_text), ("period_end", end_text)):
            try:
                dates.append(dt.date.fromisoformat(text or ""))
            except ValueError:
                raise fail(column, text, "expected a date YYYY-MM-DD") from None
        first, last = dates
        if last < first:
            raise fail("period_end", end_text, f"ends before period_start {first}")
    amount_text = _field(record, "amount")
    try:
        amount = Decimal((amount_text or "").replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise fail("amount", amount_text, "expected a number") from None
    if not amount.is_finite() or amount < 0:
        raise fail("amount", amount_text, "expected a non-negative number")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MONEY_DECIMALS:
        raise fail("amount", amount_text, f"at most {MONEY_DECIMALS} decimals")
    return QuotaRow(owner.lower(), first, last, amount)


def parse_quotas_file(path: Path, *, fiscal_year_start_month: int = 1) -> list[QuotaRow]:
    """Every quota of the file, validated; QuotaFileError names file, row, column and value."""
    records, _ = _records(Path(path))
    rows: list[QuotaRow] = []
    seen: dict[tuple[str, dt.date], str] = {}
    for where, record in records:
        row = _row(record, where=where, path=Path(path), start_month=fiscal_year_start_month)
        key = (row.owner_email, row.period_start)
        if key in seen:
            raise QuotaFileError(
                f"{path}: {where}: a second quota for {row.owner_email} starting"
                f" {row.period_start} (first at {seen[key]})"
            )
        seen[key] = where
        rows.append(row)
    return rows


def quota_frame(rows: Sequence[QuotaRow]) -> pd.DataFrame:
    """The quotas as the frame `compute_metrics` reads (owner_email, period_start/end, amount)."""
    return pd.DataFrame(
        {
            "owner_email": [r.owner_email for r in rows],
            "period_start": [r.period_start for r in rows],
            "period_end": [r.period_end for r in rows],
            "amount": [r.amount for r in rows],
        },
        dtype=object,
    )


def read_quotas_file(path: Path, *, fiscal_year_start_month: int = 1) -> pd.DataFrame:
    """The quotas file as a frame for `compute_metrics`, validated."""
    return quota_frame(parse_quotas_file(path, fiscal_year_start_month=fiscal_year_start_month))


def load_quotas(conn: sa.Connection, rows: Sequence[QuotaRow]) -> int:
    """Replace the `quotas` table with `rows`; returns how many were written."""
    conn.execute(sa.delete(quotas_table))
    now = datetime.now(UTC)
    if rows:
        conn.execute(
            sa.insert(quotas_table),
            [
                {
                    "owner_email": r.owner_email,
                    "period_start": r.period_start,
                    "period_end": r.period_end,
                    "amount": r.amount,
                    "loaded_at": now,
                }
                for r in rows
            ],
        )
    return len(rows)


def refresh_quotas(engine: sa.Engine, app_config: AppConfig) -> int | None:
    """Load the configured quotas file into `quotas`; None (table untouched) when none is set."""
    if app_config.quotas_file is None:
        return None
    rows = parse_quotas_file(
        app_config.quotas_file, fiscal_year_start_month=app_config.fiscal_year_start_month
    )
    with engine.begin() as conn:
        return load_quotas(conn, rows)
