"""One writer at a time per warehouse, shared by the CLI and Dagster runs.

PostgreSQL: a session advisory lock (keyed by lock name and schema) held on a dedicated
autocommit connection; it dies with the process. SQLite: an exclusive `flock` on
`<database file>.lock`, released by the kernel when the process ends. In-memory SQLite
(nothing to share between processes): a lock local to this process. The holder records its
pid, host and start time, so a second sync can say who holds the warehouse and since when.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import socket
import threading
import time
import weakref
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from warehouse.engine import is_memory_sqlite, safe_url

POLL_SECONDS = 0.2


class WarehouseBusy(RuntimeError):
    """Another sync holds the warehouse lock."""


def _holder_record(name: str) -> dict[str, Any]:
    """Who is taking the lock: this process, on this host, now."""
    return {
        "name": name,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _describe(record: dict[str, Any] | None) -> str:
    """Human text for a holder record, e.g. ', pid 12, host a, since ...' ('' if unknown)."""
    if not record:
        return ""
    parts = [f"{key} {record[key]}" for key in ("pid", "host", "since") if record.get(key)]
    return "".join(f", {part}" for part in parts)


class _Backend(Protocol):
    def try_acquire(self) -> bool: ...

    def release(self) -> None: ...

    def holder(self) -> str: ...


class _FileLock:
    """Exclusive flock on a file next to the SQLite database."""

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.name = name
        self.fd: int | None = None

    def try_acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(_holder_record(self.name)).encode(), 0)
        self.fd = fd
        return True

    def release(self) -> None:
        if self.fd is None:
            return
        fd, self.fd = self.fd, None
        try:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def holder(self) -> str:
        try:
            record = json.loads(self.path.read_text() or "null")
        except (OSError, ValueError):
            record = None
        return _describe(record if isinstance(record, dict) else None)


class _AdvisoryLock:
    """PostgreSQL session advisory lock on a connection kept out of the pool."""

    def __init__(self, engine: Engine, name: str) -> None:
        self.engine = engine
        self.name = name
        self.conn: sa.Connection | None = None
        self.key: int | None = None

    def _key(self, conn: sa.Connection) -> int:
        schema = conn.execute(sa.select(sa.func.current_schema())).scalar_one()
        digest = hashlib.blake2b(
            f"pipelines_etl:{self.name}:{schema}".encode(), digest_size=8
        ).digest()
        return int.from_bytes(digest, "big", signed=True)

    def try_acquire(self) -> bool:
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            conn.detach()  # closing it closes the session, so no lock can leak into the pool
            key = self._key(conn)
            got = conn.execute(sa.select(sa.func.pg_try_advisory_lock(key))).scalar_one()
            if not got:
                conn.close()
                self.key = key
                return False
            record = _holder_record(self.name)
            label = f"pipelines-etl:{self.name} pid={record['pid']} since={record['since']}"
            conn.execute(sa.select(sa.func.set_config("application_name", label[:63], False)))
        except BaseException:
            conn.close()
            raise
        self.conn, self.key = conn, key
        return True

    def release(self) -> None:
        if self.conn is None:
            return
        conn, self.conn = self.conn, None
        try:
            conn.execute(sa.select(sa.func.pg_advisory_unlock(self.key)))
        finally:
            conn.close()

    def holder(self) -> str:
        if self.key is None:
            return ""
        unsigned = self.key & 0xFFFF_FFFF_FFFF_FFFF
        query = sa.text(
            "SELECT a.application_name, a.client_addr, a.backend_start"
            " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
            " AND l.classid = CAST(:hi AS oid) AND l.objid = CAST(:lo AS oid)"
        ).bindparams(hi=unsigned >> 32, lo=unsigned & 0xFFFF_FFFF)
        try:
            with self.engine.connect() as conn:
                row = conn.execute(query).first()
        except sa.exc.DBAPIError:
            return ""
        if row is None:
            return ""
        where = row.client_addr or "a local socket"
        if row.application_name:  # set by the holder: names its pid and start time
            return f", held by {row.application_name} from {where}"
        since = row.backend_start.astimezone(UTC).isoformat(timespec="seconds")
        return f", held by a session from {where} connected since {since}"


# In-memory SQLite: one lock per engine and name, within this process.
_LOCAL_LOCKS: weakref.WeakKeyDictionary[Engine, dict[str, threading.Lock]] = (
    weakref.WeakKeyDictionary()
)
_LOCAL_HOLDERS: dict[int, dict[str, Any]] = {}
_LOCAL_GUARD = threading.Lock()


class _ProcessLock:
    """A threading lock for databases that only this process can see."""

    def __init__(self, engine: Engine, name: str) -> None:
        with _LOCAL_GUARD:
            self.lock = _LOCAL_LOCKS.setdefault(engine, {}).setdefault(name, threading.Lock())
        self.name = name

    def try_acquire(self) -> bool:
        if not self.lock.acquire(blocking=False):
            return False
        _LOCAL_HOLDERS[id(self.lock)] = _holder_record(self.name)
        return True

    def release(self) -> None:
        _LOCAL_HOLDERS.pop(id(self.lock), None)
        self.lock.release()

    def holder(self) -> str:
        return _describe(_LOCAL_HOLDERS.get(id(self.lock)))


def _backend_for(engine: Engine, name: str) -> _Backend:
    url = engine.url
    backend = url.get_backend_name()
    if backend == "postgresql":
        return _AdvisoryLock(engine, name)
    if backend == "sqlite":
        if is_memory_sqlite(url) or not url.database or url.database.startswith("file:"):
            return _ProcessLock(engine, name)
        database = Path(url.database).expanduser().resolve()
        suffix = ".lock" if name == "sync" else f".{name}.lock"
        return _FileLock(database.with_name(database.name + suffix), name)
    raise NotImplementedError(f"no warehouse lock for {backend}")


class WarehouseLock:
    """The one-writer lock of a warehouse: `with WarehouseLock(engine, wait=60): ...`."""

    def __init__(self, engine: Engine, name: str = "sync", *, wait: float | None = 0.0) -> None:
        """Name the lock; `wait` is what `with` waits (0: fail at once, None: forever)."""
        if not name or not name.replace("_", "").isalnum():
            raise ValueError(f"lock name must be letters, digits and _, not {name!r}")
        self.engine = engine
        self.name = name
        self.wait = wait
        self._backend = _backend_for(engine, name)
        self._held = False

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._held

    def acquire(self, wait: float | None = 0.0) -> None:
        """Take the lock, waiting up to `wait` seconds (None: forever); else raise WarehouseBusy."""
        if self._held:
            raise RuntimeError(f"warehouse lock {self.name!r} is already held by this object")
        deadline = None if wait is None else time.monotonic() + max(0.0, wait)
        while not self._backend.try_acquire():
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise WarehouseBusy(
                    f"another sync holds the warehouse {safe_url(self.engine.url)}"
                    f" (lock {self.name!r}{self._backend.holder()}): wait for it to finish,"
                    " or run again with a longer wait"
                )
            time.sleep(POLL_SECONDS if remaining is None else min(POLL_SECONDS, remaining))
        self._held = True

    def release(self) -> None:
        """Give the lock back (a no-op when not held)."""
        if self._held:
            self._held = False
            self._backend.release()

    def __enter__(self) -> WarehouseLock:
        """Acquire with the wait given at construction."""
        self.acquire(self.wait)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Release, whatever happened."""
        self.release()
