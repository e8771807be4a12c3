"""Timing statistics and child processes measured for wall time and peak memory."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

PYTHON = sys.executable
REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Timings:
    """Repeated durations in milliseconds."""

    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        """The median sample (ms)."""
        return statistics.median(self.samples)

    @property
    def p90(self) -> float:
        """The 90th-percentile sample (ms)."""
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]

    def text(self) -> str:
        """`median / p90 ms (n=N)`."""
        return f"{self.median:.1f} / {self.p90:.1f} ms (n={len(self.samples)})"


def time_calls(call: Callable[[], object], *, repeat: int, warmup: int = 2) -> Timings:
    """Time `call` `repeat` times after `warmup` untimed calls."""
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return Timings(tuple(samples))


@dataclass(frozen=True)
class ChildRun:
    """How a measured child process ended."""

    returncode: int
    wall_seconds: float
    peak_rss_mb: float
    stdout: str
    stderr: str
    cpu_seconds: float = 0.0  # user + system time of the child itself (robust to a busy box)


def run_child(
    args: Sequence[str], *, env: Mapping[str, str], cwd: Path, log_dir: Path, name: str
) -> ChildRun:
    """Run `args` to completion; its own peak RSS comes from `os.wait4` (this child only,
    unlike RUSAGE_CHILDREN, which keeps the maximum of every child ever waited for)."""
    out_path, err_path = log_dir / f"{name}.out", log_dir / f"{name}.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(list(args), env=dict(env), cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return ChildRun(
        returncode=process.returncode,
        wall_seconds=wall,
        peak_rss_mb=usage.ru_maxrss / 1024,
        stdout=out_path.read_text(errors="replace"),
        stderr=err_path.read_text(errors="replace"),
        cpu_seconds=usage.ru_utime + usage.ru_stime,
    )


def own_peak_rss_mb() -> float:
    """This process's peak RSS so far (MB; Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
