"""End to end: normalizing in a worker process loads exactly what normalizing in the sync's own
process loads, and a worker that dies costs nothing but time."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import pytest

from pipelines_etl.steps import normalize, transform_pool
from pipelines_etl.steps.normalize_batch import NormalizedBatch, NormalizeSpec, RawBatch
from pipelines_etl.steps.transform_pool import BatchTransforms, TransformPool

pytestmark = pytest.mark.e2e


def test_a_worker_process_loads_what_the_sync_process_loads(
    harness: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    in_process = harness("sqlite", deals=300, seed=7)
    with_worker = harness("sqlite", server=in_process.server)
    monkeypatch.setattr(normalize, "BATCH_SIZE", 40)  # several batches in flight

    monkeypatch.setattr(transform_pool, "MIN_ROWS", 10**9)
    assert in_process.sync().ok

    started: list[Executor | None] = []
    executor_for = TransformPool.executor

    def spy(self: TransformPool, rows: int) -> Executor | None:
        started.append(executor_for(self, rows))
        return started[-1]

    monkeypatch.setattr(transform_pool, "MIN_ROWS", 0)
    monkeypatch.setattr(TransformPool, "executor", spy)
    assert with_worker.sync().ok

    assert any(isinstance(executor, ProcessPoolExecutor) for executor in started)
    assert len(with_worker.deals()) == 600  # 300 per CRM
    assert with_worker.deals() == in_process.deals()
    assert with_worker.stays() == in_process.stays()
    assert with_worker.stays()


class _DeadPool(Executor):
    """An executor whose worker process is gone: submits fail, or their futures do."""

    def __init__(self, *, on_submit: bool) -> None:
        self.on_submit = on_submit
        self.submitted = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.submitted += 1
        if self.on_submit:
            raise BrokenProcessPool("the worker died")
        future: Future[Any] = Future()
        future.set_exception(BrokenProcessPool("the worker died"))
        return future


@pytest.mark.parametrize("on_submit", [True, False])
def test_a_dead_worker_falls_back_to_this_process(
    on_submit: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    done: list[RawBatch] = []

    def fake_normalize(spec: NormalizeSpec, batch: RawBatch) -> NormalizedBatch:
        done.append(batch)
        return "normalized here"  # type: ignore[return-value]

    monkeypatch.setattr(transform_pool, "normalize_batch", fake_normalize)
    pool = _DeadPool(on_submit=on_submit)
    transforms = BatchTransforms(pool)
    spec: Any = object()
    first, second = RawBatch(["a"], ["{}"], []), RawBatch(["b"], ["{}"], [])
    future = transforms.submit(spec, first)
    assert transforms.result(spec, first, future) == "normalized here"
    future = transforms.submit(spec, second)  # no second try on the dead pool
    assert transforms.result(spec, second, future) == "normalized here"
    assert done == [first, second]
    assert pool.submitted == 1
