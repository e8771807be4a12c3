"""Polling a Bulk API 2.0 job: a short first wait that doubles up to a ceiling, and its ends."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from simple_salesforce.bulk2 import Operation
from simple_salesforce.exceptions import SalesforceOperationError

from connectors.base import TruncatedResponse
from connectors.salesforce_query import BulkJob, BulkPolling, wait_for_bulk_job


class FakeClock:
    """Monotonic time that only `sleep` moves; remembers every sleep."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


class ScriptedGateway:
    """Answers each `get_job` poll with the next state of a script; counts the polls."""

    def __init__(self, states: list[str], *, clock: FakeClock, poll_cost: float = 0.0) -> None:
        self.states = list(states)
        self.polls = 0
        self.clock = clock
        self.poll_cost = poll_cost

    def call(self, fn: Callable[[Any], Any], *, what: str) -> Any:
        def get_job(job_id: str, is_query: bool) -> dict[str, Any]:
            assert (job_id, is_query) == ("750X", True)
            self.polls += 1
            self.clock.now += self.poll_cost
            state = self.states.pop(0)
            return {"id": job_id, "state": state, "errorMessage": "bad SOQL"}

        client = SimpleNamespace(get_job=get_job)
        return fn(
            SimpleNamespace(bulk2=SimpleNamespace(Opportunity=SimpleNamespace(_client=client)))
        )


def _job(created_at: float) -> BulkJob:
    return BulkJob("750X", "Opportunity", Operation.query_all, created_at)


def _polling(clock: FakeClock, *, timeout: float = 3600.0) -> BulkPolling:
    return BulkPolling(first=0.5, longest=5.0, timeout=timeout, sleep=clock.sleep, clock=clock)


def test_waits_grow_from_half_a_second_to_five() -> None:
    clock = FakeClock()
    states = ["UploadComplete", "InProgress", "InProgress", "InProgress", "InProgress",
              "InProgress", "JobComplete"]  # fmt: skip
    gateway = ScriptedGateway(states, clock=clock)
    wait_for_bulk_job(gateway, _job(clock.now), polling=_polling(clock))  # type: ignore[arg-type]
    assert gateway.polls == 7
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0]


def test_a_job_created_long_ago_is_polled_at_once() -> None:
    # The history job ran while the deal pages downloaded: its first poll does not wait.
    clock = FakeClock()
    gateway = ScriptedGateway(["JobComplete"], clock=clock)
    wait_for_bulk_job(gateway, _job(clock.now - 30.0), polling=_polling(clock))  # type: ignore[arg-type]
    assert (gateway.polls, clock.sleeps) == (1, [])


def test_time_spent_polling_counts_towards_the_wait() -> None:
    clock = FakeClock()
    gateway = ScriptedGateway(["InProgress", "JobComplete"], clock=clock, poll_cost=0.25)
    wait_for_bulk_job(gateway, _job(clock.now), polling=_polling(clock))  # type: ignore[arg-type]
    # first poll at +0.5 s; the next is due 1 s after the first poll returned
    assert clock.sleeps == [0.5, 1.0]


@pytest.mark.parametrize("state", ["Failed", "Aborted"])
def test_a_failed_job_raises_with_its_message(state: str) -> None:
    clock = FakeClock()
    gateway = ScriptedGateway(["InProgress", state], clock=clock)
    with pytest.raises(SalesforceOperationError, match=f"ended {state}: bad SOQL"):
        wait_for_bulk_job(gateway, _job(clock.now), polling=_polling(clock))  # type: ignore[arg-type]
    assert gateway.polls == 2


def test_a_job_running_past_the_timeout_raises() -> None:
    clock = FakeClock()
    gateway = ScriptedGateway(["InProgress"] * 10, clock=clock)
    with pytest.raises(SalesforceOperationError, match="still InProgress after 10 s"):
        wait_for_bulk_job(gateway, _job(clock.now), polling=_polling(clock, timeout=10.0))  # type: ignore[arg-type]
    # polls at +0.5, +1.5, +3.5, +7.5 and +12.5 s: the last one is past the 10 s timeout
    assert gateway.polls == 5


def test_a_status_without_state_is_a_truncated_reply() -> None:
    clock = FakeClock()

    class NoState(ScriptedGateway):
        def call(self, fn: Callable[[Any], Any], *, what: str) -> Any:
            return {"id": "750X"}

    with pytest.raises(TruncatedResponse, match="no state"):
        wait_for_bulk_job(NoState([], clock=clock), _job(clock.now), polling=_polling(clock))  # type: ignore[arg-type]
