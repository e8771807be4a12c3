"""A worker process for normalize's pure half, so parsing and writing use both cores.

Normalizing a batch is two halves that took turns on one core: parse, flatten and map the
raw JSON (pure pandas, `normalize_batch`), then write the result to the warehouse. The sync
keeps a `TransformPool`: on a machine with a second core, the first load big enough starts
one worker process, and normalize hands it batch N+1 while it writes batch N.
If the worker dies, the batch and every later one are normalized in this process instead.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from pipelines_etl.process_tuning import tune_sync_process
from pipelines_etl.steps.normalize_batch import (
    NormalizedBatch,
    NormalizeSpec,
    RawBatch,
    normalize_batch,
    warm_up,
)

logger = logging.getLogger(__name__)


# Deals below which a load normalizes in this process: a worker's start-up (spawn and the
# pandas imports, one to three seconds) pays off from a few batches on.
MIN_ROWS = 20_000


class TransformPool:
    """At most one worker process for `normalize_batch`, started by the first load of at
    least `min_rows` deals, on a machine with a second core (or `workers=1`); a context
    manager that stops the worker when the block ends."""

    def __init__(self, *, workers: int | None = None, min_rows: int | None = None) -> None:
        spare_core = (os.cpu_count() or 1) > 1
        self.workers = workers if workers is not None else (1 if spare_core else 0)
        self.min_rows = min_rows if min_rows is not None else MIN_ROWS
        self._pool: ProcessPoolExecutor | None = None

    def executor(self, rows: int) -> Executor | None:
        """The worker pool for a load of `rows` deals; None: normalize in this process."""
        if self.workers < 1 or rows < self.min_rows:
            return self._pool
        if self._pool is None:
            context = multiprocessing.get_context("spawn")  # no fork of a threaded process
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=context,
                initializer=tune_sync_process,
            )
            self._pool.submit(warm_up)  # start the worker and its imports now
        return self._pool

    def close(self) -> None:
        """Stop the worker (if one was started)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> TransformPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _done(batch: NormalizedBatch) -> Future[NormalizedBatch]:
    future: Future[NormalizedBatch] = Future()
    future.set_result(batch)
    return future


class BatchTransforms:
    """Runs `normalize_batch` in the executor when there is one, else here; falls back to
    this process for good when the worker process dies."""

    def __init__(self, executor: Executor | None) -> None:
        self._executor = executor

    def submit(self, spec: NormalizeSpec, batch: RawBatch) -> Future[NormalizedBatch]:
        """Start normalizing `batch` (done already when there is no executor)."""
        if self._executor is not None:
            try:
                return self._executor.submit(normalize_batch, spec, batch)
            except BrokenProcessPool:
                self._lost_worker()
        return _done(normalize_batch(spec, batch))

    def result(
        self, spec: NormalizeSpec, batch: RawBatch, future: Future[NormalizedBatch]
    ) -> NormalizedBatch:
        """The normalized batch; redone here if the worker process died on it."""
        try:
            return future.result()
        except BrokenProcessPool:
            self._lost_worker()
            return normalize_batch(spec, batch)

    def _lost_worker(self) -> None:
        if self._executor is not None:
            logger.warning("the normalize worker process died; normalizing in this process")
        self._executor = None
