"""Bulk API 2.0 jobs over a generated org's OpportunityHistory, kept as row numbers.

The full load reads all OpportunityHistory in one Bulk job (two million rows at 500,000
deals). Built as dicts, that job took ~7 s to create, held gigabytes, and its CSV pages cost
~1 s per 50,000 rows of per-cell formatting. Here a job without WHERE/LIMIT over plain
fields keeps its rows as numbers (shuffled, as Bulk results come in no order), and a page's
CSV cells come column by column from the numpy columns of history.py: ids, stamps and dates
formatted in numpy passes, stage-derived values looked up, amounts in one Python pass (with
Python's `round`, as `HistoryTable.build` computes them); rows added by writes are ordinary
dicts, formatted as any record. The cells equal those of `soql.csv_rows` over the rows
`HistoryTable` builds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from connectors.sandbox.salesforce import soql
from connectors.sandbox.salesforce.history import HistoryTable
from connectors.sandbox.salesforce.ids import ids_for
from connectors.sandbox.salesforce.soql import SoqlQuery

Record = dict[str, Any]
OBJECT = "OpportunityHistory"


@dataclass(frozen=True)
class HistoryJobRows:
    """A Bulk job's OpportunityHistory rows in result order: `order[i] < generated` is a
    generated row's number, else `added[order[i] - generated]`."""

    table: HistoryTable
    order: np.ndarray
    added: Sequence[Record]
    deleted: np.ndarray  # o -> IsDeleted when the job was created (its snapshot)

    def __len__(self) -> int:
        return int(self.order.size)


def answers(table: Any, query: SoqlQuery) -> bool:
    """Whether `select_rows` answers `query` over `table`: a generated history table, no
    WHERE, LIMIT or OFFSET, no relationship field (other queries run as any query)."""
    return (
        query.object_name == OBJECT
        and isinstance(table, HistoryTable)
        and query.where is None
        and query.limit is None
        and not query.offset
        and not query.is_count
        and not any(path.hops for path in query.paths)
    )


def select_rows(
    table: HistoryTable, *, include_deleted: bool, rng: np.random.Generator
) -> HistoryJobRows:
    """Every row of `table` (deleted ones only with `include_deleted`), shuffled by `rng`.
    Call with the org's lock held."""
    generated = table.generated
    deleted = table.deleted.copy()
    rows = np.arange(generated, dtype=np.int64)
    added = list(table.added.values())
    if not include_deleted:
        rows = rows[~deleted[table.columns.opportunity]]
        added = [row for row in added if not row.get("IsDeleted")]
    order = np.concatenate([rows, np.arange(len(added), dtype=np.int64) + generated])
    rng.shuffle(order)
    return HistoryJobRows(table=table, order=order, added=added, deleted=deleted)


def csv_columns(
    job_rows: HistoryJobRows, query: SoqlQuery, *, start: int, stop: int, lookup: soql.Lookup
) -> list[list[str]]:
    """The CSV cells of result rows `start:stop`, a list per column in `soql.csv_header`
    order."""
    positions = job_rows.order[start:stop]
    generated = job_rows.table.generated
    is_generated = positions < generated
    rows = positions[is_generated]
    added = [job_rows.added[i] for i in (positions[~is_generated] - generated).tolist()]
    values = _GeneratedValues(job_rows, rows)
    added_columns = soql.csv_columns(query, added, lookup=lookup)
    columns = []
    for index, path in enumerate(query.paths):
        column = values.column(path.field.name)
        if added:
            merged = np.empty(positions.size, dtype=object)
            merged[is_generated] = column
            merged[~is_generated] = added_columns[index]
            column = merged.tolist()
        columns.append(column)
    return columns


class _GeneratedValues:
    """CSV cells of generated history rows, a column at a time (as `HistoryTable.build` and
    `soql.project_csv_value` would make them)."""

    def __init__(self, job_rows: HistoryJobRows, rows: np.ndarray) -> None:
        self.c = job_rows.table.columns
        self.rows = rows
        self.deleted = job_rows.deleted
        self.opp = self.c.opportunity[rows].astype(np.int64)
        self._amounts: tuple[list[Any], list[Any]] | None = None
        self._makers: dict[str, Callable[[], list[str]]] = {
            "Id": lambda: ids_for("008", rows + self.c.id_start),
            "OpportunityId": lambda: _pick(self.c.opportunity_ids, self.opp),
            "CreatedById": lambda: _pick(self.c.user_ids, self.c.owner[self.opp]),
            "CreatedDate": self._stamps,
            "SystemModstamp": self._stamps,
            "StageName": lambda: self._by_stage(lambda s: s.label),
            "Probability": lambda: self._by_stage(lambda s: s.probability),
            "ForecastCategory": lambda: self._by_stage(lambda s: s.forecast_category),
            "CloseDate": lambda: _days(self.c.close_day[rows]),
            "CurrencyIsoCode": lambda: _pick(self.c.currency_codes, self.c.currency[self.opp]),
            "IsDeleted": lambda: np.where(self.deleted[self.opp], "true", "false").tolist(),
            "Amount": lambda: _texts(self._amount_pair()[0]),
            "PrevAmount": lambda: _texts(self._amount_pair()[1]),
            "ExpectedRevenue": self._expected_revenue,
            "PrevCloseDate": self._previous_close,
        }

    def column(self, name: str) -> list[str]:
        """The cells of field `name` (empty for a field generated rows do not hold)."""
        maker = self._makers.get(name)
        return maker() if maker is not None else [""] * int(self.rows.size)

    def _stamps(self) -> list[str]:
        return _iso_texts(self.c.at_ms[self.rows], with_time=True)

    def _by_stage(self, value: Callable[[Any], Any]) -> list[str]:
        cells = [soql.project_csv_value(value(stage)) for stage in self.c.stages]
        return _pick(cells, self.c.stage[self.rows])

    def _amount_pair(self) -> tuple[list[Any], list[Any]]:
        """Each row's Amount and PrevAmount (None for null), as HistoryTable.build has them:
        the opportunity's amount, its first row's scaled by `first_factor` unless that row
        is also its last, rounded to the currency's decimals."""
        if self._amounts is not None:
            return self._amounts
        c, rows, opp = self.c, self.rows, self.opp
        first_row = c.starts[opp]
        is_first = (rows == first_row).tolist()
        single = (c.starts[opp + 1] - first_row == 1).tolist()
        second = (rows == first_row + 1).tolist()
        raw = c.amount[opp].tolist()
        factors = c.first_factor[opp].tolist()
        decimals = c.decimals[opp].tolist()
        amounts: list[Any] = []
        previous: list[Any] = []
        for k, value in enumerate(raw):
            plain = None if value != value else value  # NaN: no amount
            scaled = plain
            if plain is not None and factors[k] != 1.0 and not single[k]:
                scaled = round(plain * factors[k], decimals[k])
            amounts.append(scaled if is_first[k] else plain)
            previous.append(None if is_first[k] else scaled if second[k] else plain)
        self._amounts = (amounts, previous)
        return self._amounts

    def _expected_revenue(self) -> list[str]:
        amounts = self._amount_pair()[0]
        probability = [self.c.stages[s].probability for s in self.c.stage[self.rows].tolist()]
        return _texts(
            [
                None if amount is None else round(amount * p / 100, 2)
                for amount, p in zip(amounts, probability, strict=True)
            ]
        )

    def _previous_close(self) -> list[str]:
        rows = self.rows
        is_first = rows == self.c.starts[self.opp]
        days = _days(self.c.close_day[np.maximum(rows - 1, 0)])
        return ["" if first else day for first, day in zip(is_first.tolist(), days, strict=True)]


def _pick(values: Sequence[str], indexes: np.ndarray) -> list[str]:
    """`values[i]` for each index."""
    return [values[i] for i in indexes.tolist()]


def _days(day_numbers: np.ndarray) -> list[str]:
    """Days since the epoch as `YYYY-MM-DD`."""
    return _iso_texts(day_numbers.astype(np.int64) * _DAY_MS, with_time=False)


_DAY_MS = 86_400_000


def _iso_texts(ms: np.ndarray, *, with_time: bool) -> list[str]:
    """Epoch milliseconds (years 1000-9999) as `YYYY-MM-DDTHH:MM:SS.mmmZ`, or `YYYY-MM-DD`
    without the time: digits written into a byte matrix, ten times quicker than
    `np.datetime_as_string`."""
    ms = ms.astype(np.int64)
    days = (ms // _DAY_MS).astype("datetime64[D]")
    years = days.astype("datetime64[Y]")
    months = days.astype("datetime64[M]")
    parts = [
        (years.astype(np.int64) + 1970, 4),
        ((months - years).astype(np.int64) + 1, 2),
        ((days - months).astype(np.int64) + 1, 2),
    ]
    template = "0000-00-00T00:00:00.000Z\n" if with_time else "0000-00-00\n"
    if with_time:
        in_day = ms % _DAY_MS
        parts += [
            (in_day // 3_600_000, 2),
            (in_day // 60_000 % 60, 2),
            (in_day // 1000 % 60, 2),
            (in_day % 1000, 3),
        ]
    out = np.frombuffer(template.encode(), dtype=np.uint8)[None, :].repeat(ms.size, axis=0)
    position = 0
    for value, width in parts:
        for digit in range(width - 1, -1, -1):
            out[:, position + digit] = 48 + value % 10
            value = value // 10
        position += width + 1
    if ms.size == 0:
        return []
    return out.tobytes().decode("ascii")[:-1].split("\n")  # one line per value


def _texts(values: list[Any]) -> list[str]:
    """Numbers (or None) as CSV cells."""
    return [soql.project_csv_value(value) for value in values]
