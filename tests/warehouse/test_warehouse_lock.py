"""The one-writer lock excludes a second holder (engine or process) and is released."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.engine import Engine

from warehouse.engine import create_warehouse_engine
from warehouse.lock import WarehouseBusy, WarehouseLock

CHILD = textwrap.dedent(
    """
    import sys, time
    from warehouse.engine import create_warehouse_engine
    from warehouse.lock import WarehouseBusy, WarehouseLock

    lock = WarehouseLock(create_warehouse_engine(sys.argv[1]))
    try:
        lock.acquire(wait=float(sys.argv[2]))
    except WarehouseBusy as exc:
        print(exc, flush=True)
        sys.exit(3)
    print("held", flush=True)
    if sys.argv[3] == "hold":
        time.sleep(60)
    lock.release()
    """
)


def _child(url: str, wait: float, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, url, str(wait), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def second_engine(warehouse_url: str) -> Iterator[Engine]:
    engine = create_warehouse_engine(warehouse_url)
    yield engine
    engine.dispose()


def test_second_engine_is_refused_until_release(engine: Engine, second_engine: Engine) -> None:
    first = WarehouseLock(engine)
    first.acquire()
    try:
        with pytest.raises(WarehouseBusy) as busy:
            WarehouseLock(second_engine).acquire(wait=0)
        message = str(busy.value)
        assert "another sync holds the warehouse" in message
        assert f"pid={os.getpid()}" in message or f"pid {os.getpid()}" in message
    finally:
        first.release()
    with WarehouseLock(second_engine) as second:
        assert second.held
    assert not second.held


def test_another_process_is_refused_while_held(engine: Engine, warehouse_url: str) -> None:
    with WarehouseLock(engine):
        child = _child(warehouse_url, 0, "release")
        out, err = child.communicate(timeout=60)
        assert child.returncode == 3, err
        assert "another sync holds the warehouse" in out
    child = _child(warehouse_url, 0, "release")
    out, err = child.communicate(timeout=60)
    assert (child.returncode, out.strip()) == (0, "held"), err


def test_a_killed_holder_frees_the_lock(engine: Engine, warehouse_url: str) -> None:
    child = _child(warehouse_url, 0, "hold")
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "held"
        with pytest.raises(WarehouseBusy, match=f"pid.{child.pid}"):
            WarehouseLock(engine).acquire(wait=0)
    finally:
        child.kill()
        child.communicate(timeout=60)
    lock = WarehouseLock(engine)
    lock.acquire(wait=10)  # the kernel / server dropped the dead holder's lock
    assert lock.held
    lock.release()


def test_waiting_gives_up_after_the_wait(engine: Engine, second_engine: Engine) -> None:
    with WarehouseLock(engine):
        started = time.monotonic()
        with pytest.raises(WarehouseBusy):
            WarehouseLock(second_engine).acquire(wait=0.5)
        assert time.monotonic() - started >= 0.5


def test_waiting_succeeds_when_the_holder_releases(engine: Engine, second_engine: Engine) -> None:
    first = WarehouseLock(engine)
    first.acquire()
    timer = threading.Timer(0.3, first.release)
    timer.start()
    try:
        second = WarehouseLock(second_engine, wait=None)
        with second:
            assert second.held
    finally:
        timer.cancel()
        first.release()


def test_a_lock_cannot_be_taken_twice_by_one_object(engine: Engine) -> None:
    lock = WarehouseLock(engine)
    with lock, pytest.raises(RuntimeError, match="already held"):
        lock.acquire()


def test_different_names_do_not_conflict(engine: Engine) -> None:
    with WarehouseLock(engine, "sync"), WarehouseLock(engine, "flags_push") as other:
        assert other.held
    with pytest.raises(ValueError, match="lock name"):
        WarehouseLock(engine, "a;b")


@pytest.mark.postgres
def test_postgres_schemas_are_separate_warehouses(
    warehouse_url_factory: Callable[[str], str],
) -> None:
    engines = [create_warehouse_engine(warehouse_url_factory("postgresql")) for _ in range(2)]
    try:
        with WarehouseLock(engines[0]), WarehouseLock(engines[1]) as second:
            assert second.held
    finally:
        for engine in engines:
            engine.dispose()


def test_in_memory_sqlite_uses_a_process_local_lock() -> None:
    engine = create_warehouse_engine("sqlite://")
    try:
        with WarehouseLock(engine), pytest.raises(WarehouseBusy, match=f"pid {os.getpid()}"):
            WarehouseLock(engine).acquire(wait=0)
        with WarehouseLock(engine) as again:
            assert again.held
    finally:
        engine.dispose()
