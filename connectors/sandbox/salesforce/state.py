"""The sandbox org's data: records by object and id, stages, a monotonic clock, one lock.

Records are dicts of field name to typed value (schema.py). Tables are dicts of Id to record,
except a generated org's OpportunityHistory, a `HistoryTable` whose rows are built when read:
read tables through `table()`, rows by an indexed field through `rows_by()`.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.sandbox.salesforce.history import HistoryTable
from connectors.sandbox.salesforce.ids import make_ids
from connectors.sandbox.salesforce.schema import ObjectDef

Record = dict[str, Any]
_MS = timedelta(milliseconds=1)
# Fields that never change after a record is created, which `OrgState.index` may index.
INDEXED = frozenset({("OpportunityHistory", "OpportunityId")})
INTEGRATION_USER = 99_999_999  # counter of the API user's id when the org has no user for it


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of acyclic dicts are built (it would
    otherwise rescan them over and over)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Clock:
    """Modification stamps: millisecond precision, strictly increasing, never behind now."""

    def __init__(self, floor: datetime | None = None) -> None:
        self._last = floor

    def advance_past(self, stamp: datetime) -> None:
        """Make every later stamp come after `stamp`."""
        if self._last is None or stamp > self._last:
            self._last = stamp

    def next(self) -> datetime:
        """The next stamp: now (to the millisecond), or 1 ms after the previous one."""
        now = datetime.now(UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if self._last is not None and now <= self._last:
            now = self._last.replace(microsecond=self._last.microsecond // 1000 * 1000) + _MS
        self._last = now
        return now


@dataclass
class OrgState:
    """Everything the sandbox org holds."""

    objects: dict[str, ObjectDef]
    multi_currency: bool
    corporate_currency: str = "USD"
    api_user_id: str = field(default_factory=lambda: make_ids("005", INTEGRATION_USER, 1)[0])
    tables: dict[str, dict[str, Record]] = field(default_factory=dict)
    clock: Clock = field(default_factory=Clock)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _counters: dict[str, int] = field(default_factory=dict)
    _indexes: dict[tuple[str, str], dict[Any, list[Record]]] = field(default_factory=dict)

    def table(self, name: str) -> dict[str, Record]:
        """Records of object `name` by id, in insertion order."""
        return self.tables.setdefault(name, {})

    def rows_by(self, name: str, field_name: str, keys: Iterable[Any]) -> list[Record]:
        """Records of `name` whose `field_name` is one of `keys`, grouped by key in the order
        given (each key once), in table order within a key; only for fields no write changes
        (INDEXED)."""
        with self.lock:
            table = self.table(name)
            if isinstance(table, HistoryTable) and field_name == "OpportunityId":
                return table.rows_for(keys)
            found = self._index(name, field_name)
            return [row for key in dict.fromkeys(keys) for row in found.get(key, ())]

    def _index(self, name: str, field_name: str) -> dict[Any, list[Record]]:
        """Records of `name` by the value of `field_name`, built on first use and kept up to
        date by `add`."""
        if (name, field_name) not in INDEXED:
            raise ValueError(f"{name}.{field_name} is not an indexed field")
        found = self._indexes.get((name, field_name))
        if found is None:
            found = {}
            for row in self.table(name).values():
                found.setdefault(row.get(field_name), []).append(row)
            self._indexes[(name, field_name)] = found
        return found

    def add(self, name: str, row: Record) -> None:
        """Add a new record to `name` and its indexes."""
        with self.lock:
            self.table(name)[row["Id"]] = row
            for (table, field_name), found in self._indexes.items():
                if table == name:
                    found.setdefault(row.get(field_name), []).append(row)

    def delete_history(self, opportunity_id: str) -> None:
        """An opportunity went to the recycle bin: its OpportunityHistory rows too."""
        with self.lock:
            table = self.table("OpportunityHistory")
            if isinstance(table, HistoryTable):
                table.mark_deleted(opportunity_id)
                return
            for row in self._index("OpportunityHistory", "OpportunityId").get(opportunity_id, ()):
                row["IsDeleted"] = True

    def get(self, name: str, record_id: str) -> Record | None:
        """One record, or None."""
        return self.table(name).get(record_id)

    def lookup(self, name: str, record_id: str) -> Record | None:
        """A record for relationship traversal (SOQL `Owner.Name`), deleted ones included."""
        if name not in self.objects:
            return None
        return self.table(name).get(record_id)

    def stage(self, name: str | None) -> Record | None:
        """The OpportunityStage whose MasterLabel or ApiName is `name` (exact first)."""
        if name is None:
            return None
        stages = self.table("OpportunityStage").values()
        for row in stages:
            if name in (row["MasterLabel"], row["ApiName"]):
                return row
        lowered = name.lower()
        return next(
            (r for r in stages if lowered in (r["MasterLabel"].lower(), r["ApiName"].lower())), None
        )

    def new_id(self, prefix: str, table: str) -> str:
        """A fresh id of key prefix `prefix` that no record of `table` holds yet."""
        rows = self.tables.get(table, {})
        while True:
            candidate = self.reserve_ids(prefix, 1)[0]
            if candidate not in rows:
                return candidate

    def reserve_ids(self, prefix: str, count: int) -> list[str]:
        """`count` fresh ids of key prefix `prefix`."""
        return make_ids(prefix, self.reserve_counter(prefix, count), count)

    def reserve_counter(self, prefix: str, count: int) -> int:
        """Reserve `count` id counters of key prefix `prefix`; the first one (ids.make_ids)."""
        with self.lock:
            start = self._counters.get(prefix, 0)
            self._counters[prefix] = start + count
        return start
