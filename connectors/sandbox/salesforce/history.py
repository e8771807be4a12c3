"""OpportunityHistory of a generated org: numpy columns, turned into records on demand.

Two million history rows held as dicts take seconds to build and gigabytes of memory; held as
columns (about 20 bytes a row) they cost nothing until read, and a read builds only the rows
it returns: an `OpportunityId IN (...)` query builds each opportunity's rows from its
contiguous range. Rows added by writes are ordinary dicts kept after the generated ones, so
the table reads like the dict it replaces (generated rows first, then added ones, in order).

A generated row is rebuilt each time it is read, from the values the generator drew (amount,
owner, currency), so writes to an Opportunity never rewrite its past; only `IsDeleted`
follows the opportunity (`mark_deleted`), as Salesforce's recycle bin does.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from connectors.sandbox.salesforce.ids import counter_of, ids_for

Record = dict[str, Any]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY_ONE = date(1970, 1, 1)
_CHUNK = 65_536  # rows built per step of a full scan


@dataclass(frozen=True)
class StageRow:
    """What a history row copies from its stage."""

    label: str
    probability: Any
    forecast_category: str


@dataclass(frozen=True)
class HistoryColumns:
    """The generated rows as arrays: per opportunity (index `o`, in generation order) and
    per row (index `r`, grouped by opportunity, oldest first within one)."""

    id_start: int  # counter of row 0's id (key prefix 008)
    opportunity_ids: Sequence[str]  # o -> Id
    opportunity_start: int  # counter of opportunity 0's id (key prefix 006)
    starts: np.ndarray  # o -> first row; starts[-1] = row count
    amount: np.ndarray  # o -> generated Amount (NaN: null)
    first_factor: np.ndarray  # o -> factor of the first row's amount
    decimals: np.ndarray  # o -> the currency's decimal places
    owner: np.ndarray  # o -> index into user_ids
    currency: np.ndarray  # o -> index into currency_codes
    opportunity: np.ndarray  # r -> o
    stage: np.ndarray  # r -> index into stages
    at_ms: np.ndarray  # r -> CreatedDate in epoch milliseconds
    close_day: np.ndarray  # r -> CloseDate in days since the epoch
    user_ids: Sequence[str]
    currency_codes: Sequence[str]
    stages: Sequence[StageRow]


class HistoryTable:
    """The OpportunityHistory table of a generated org: a mapping of Id to record, read-mostly
    (writes add rows; `mark_deleted` flags an opportunity's rows deleted)."""

    def __init__(self, columns: HistoryColumns, *, deleted: np.ndarray) -> None:
        self.columns = columns
        self.deleted = deleted.astype(bool)  # o -> IsDeleted, a copy the table owns
        self.added: dict[str, Record] = {}
        self._added_by_opportunity: dict[Any, list[Record]] = {}
        self._days: dict[int, date] = {}

    # -- mapping ----------------------------------------------------------------------------
    @property
    def generated(self) -> int:
        """How many generated rows the table holds."""
        return int(self.columns.starts[-1])

    def __len__(self) -> int:
        return self.generated + len(self.added)

    def __iter__(self) -> Iterator[str]:
        for start in range(0, self.generated, _CHUNK):
            stop = min(start + _CHUNK, self.generated)
            yield from ids_for("008", np.arange(start, stop) + self.columns.id_start)
        yield from list(self.added)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and (key in self.added or self._row_of(key) is not None)

    def __getitem__(self, key: str) -> Record:
        found = self.get(key)
        if found is None:
            raise KeyError(key)
        return found

    def __setitem__(self, key: str, row: Record) -> None:
        """Add a row written through the API (never a generated one)."""
        if self._row_of(key) is not None:
            raise KeyError(f"{key} is a generated history row and cannot be replaced")
        self.added[key] = row
        self._added_by_opportunity.setdefault(row.get("OpportunityId"), []).append(row)

    def get(self, key: str, default: Record | None = None) -> Record | None:
        """The row with Id `key`, or `default`."""
        found = self.added.get(key)
        if found is not None:
            return found
        row = self._row_of(key)
        return default if row is None else self.build(np.array([row]))[0]

    def keys(self) -> Iterator[str]:
        """Ids, generated rows first."""
        return iter(self)

    def values(self) -> Iterator[Record]:
        """Every row, generated ones built a chunk at a time (one pass; call again to
        re-read)."""
        for start in range(0, self.generated, _CHUNK):
            yield from self.build(np.arange(start, min(start + _CHUNK, self.generated)))
        yield from list(self.added.values())

    def items(self) -> Iterator[tuple[str, Record]]:
        """(Id, row) pairs in table order."""
        for row in self.values():
            yield row["Id"], row

    # -- by opportunity ---------------------------------------------------------------------
    def rows_for(self, opportunity_ids: Iterable[Any]) -> list[Record]:
        """The rows of these opportunities (each once, in the order given; an opportunity's
        generated rows oldest first, then rows added by writes)."""
        wanted = list(dict.fromkeys(opportunity_ids))
        indexes = [self._opportunity_of(key) for key in wanted]
        known = np.array([o for o in indexes if o is not None], dtype=np.int64)
        built = iter(self.build(_ranges(self.columns.starts, known)))
        starts = self.columns.starts
        out: list[Record] = []
        for key, o in zip(wanted, indexes, strict=True):
            if o is not None:
                out.extend(next(built) for _ in range(int(starts[o + 1] - starts[o])))
            out.extend(self._added_by_opportunity.get(key, ()))
        return out

    def mark_deleted(self, opportunity_id: str) -> None:
        """The opportunity went to the recycle bin: its rows read IsDeleted true."""
        o = self._opportunity_of(opportunity_id)
        if o is not None:
            self.deleted[o] = True
        for row in self._added_by_opportunity.get(opportunity_id, ()):
            row["IsDeleted"] = True

    # -- building rows ----------------------------------------------------------------------
    def build(self, rows: np.ndarray) -> list[Record]:
        """The records of generated rows `rows` (indexes, any order), as the generator of
        the dict-based table built them."""
        c = self.columns
        if rows.size == 0:
            return []
        opp = c.opportunity[rows]
        ids = ids_for("008", rows.astype(np.int64) + c.id_start)
        firsts = (rows == c.starts[opp]).tolist()
        lasts = (rows == c.starts[opp + 1] - 1).tolist()
        stamps = [_EPOCH + timedelta(milliseconds=ms) for ms in c.at_ms[rows].tolist()]
        closes = [self._day(day) for day in c.close_day[rows].tolist()]
        amounts = c.amount[opp].tolist()
        factors = c.first_factor[opp].tolist()
        decimals = c.decimals[opp].tolist()
        owners = [c.user_ids[i] for i in c.owner[opp].tolist()]
        currencies = [c.currency_codes[i] for i in c.currency[opp].tolist()]
        deleted = self.deleted[opp].tolist()
        opportunity_ids = c.opportunity_ids
        stages = c.stages
        out: list[Record] = []
        previous_row = -2
        previous_amount: float | None = None
        previous_close: date | None = None
        for k, (r, o, s) in enumerate(
            zip(rows.tolist(), opp.tolist(), c.stage[rows].tolist(), strict=True)
        ):
            amount = amounts[k]
            if amount != amount:  # NaN: no amount
                amount = None
            if firsts[k]:
                previous_amount, previous_close = None, None
                if amount is not None and factors[k] != 1.0 and not lasts[k]:
                    amount = round(amount * factors[k], decimals[k])
            elif r != previous_row + 1:  # the row before it was not built in this call
                previous_amount = self.build(np.array([r - 1]))[0]["Amount"]
                previous_close = self._day(int(c.close_day[r - 1]))
            stage = stages[s]
            probability = stage.probability
            out.append(
                {
                    "Id": ids[k],
                    "OpportunityId": opportunity_ids[o],
                    "CreatedById": owners[k],
                    "CreatedDate": stamps[k],
                    "StageName": stage.label,
                    "Amount": amount,
                    "ExpectedRevenue": (
                        None if amount is None else round(amount * probability / 100, 2)
                    ),
                    "CloseDate": closes[k],
                    "Probability": probability,
                    "ForecastCategory": stage.forecast_category,
                    "PrevAmount": previous_amount,
                    "PrevCloseDate": previous_close,
                    "CurrencyIsoCode": currencies[k],
                    "SystemModstamp": stamps[k],
                    "IsDeleted": deleted[k],
                }
            )
            previous_row, previous_amount, previous_close = r, amount, closes[k]
        return out

    def _day(self, day: int) -> date:
        """The date `day` days after the epoch (one shared object per day)."""
        found = self._days.get(day)
        if found is None:
            found = self._days[day] = _DAY_ONE + timedelta(days=day)
        return found

    def _row_of(self, key: str) -> int | None:
        """The generated row whose Id is `key`, else None."""
        counter = counter_of(key, "008")
        if counter is None:
            return None
        row = counter - self.columns.id_start
        if not 0 <= row < self.generated:
            return None
        return row if ids_for("008", np.array([counter]))[0] == key else None

    def _opportunity_of(self, key: Any) -> int | None:
        """The generator's index of opportunity `key`, else None."""
        if not isinstance(key, str):
            return None
        counter = counter_of(key, "006")
        if counter is None:
            return None
        o = counter - self.columns.opportunity_start
        ids = self.columns.opportunity_ids
        return o if 0 <= o < len(ids) and ids[o] == key else None


def _ranges(starts: np.ndarray, opportunities: np.ndarray) -> np.ndarray:
    """The row indexes of these opportunities' ranges, concatenated in the order given."""
    if opportunities.size == 0:
        return np.empty(0, dtype=np.int64)
    begin = starts[opportunities]
    length = starts[opportunities + 1] - begin
    offsets = np.repeat(begin - np.cumsum(length) + length, length)
    return offsets + np.arange(int(length.sum()))
