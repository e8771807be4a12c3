"""Timing statistics and child processes measured for wall time and peak memory."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import threading
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
    cpu_seconds: float = 0.0  # user + system time of the child and its reaped workers
    own_peak_rss_mb: float = 0.0  # the child process alone; peak_rss_mb is the whole tree


def _tree_rss_bytes(root: int) -> int:
    """Resident memory of `root` and all its descendants now (Linux /proc), in bytes."""
    parents: dict[int, int] = {}
    resident: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_bytes().rsplit(b")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        pid = int(entry.name)
        parents[pid] = int(fields[1])  # fields after "(comm)": state, ppid, ... rss is 22nd
        resident[pid] = int(fields[21]) * page
    total = 0
    for pid, rss in resident.items():
        ancestor = pid
        while ancestor not in (root, 0, 1) and ancestor in parents:
            ancestor = parents[ancestor]
        if ancestor == root:
            total += rss
    return total


class _TreeMemory:
    """Samples the summed RSS of a process tree (a sync and its worker process) a few times a
    second in a thread: `os.wait4` only knows each process's own peak."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        self.peak = 0
        self._pid = pid
        self._interval = interval
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.wait(self._interval):
            self.peak = max(self.peak, _tree_rss_bytes(self._pid))

    def stop(self) -> float:
        """Stop sampling; the peak in MB."""
        self._done.set()
        self._thread.join()
        return self.peak / 2**20


def run_child(
    args: Sequence[str], *, env: Mapping[str, str], cwd: Path, log_dir: Path, name: str
) -> ChildRun:
    """Run `args` to completion; its own peak RSS comes from `os.wait4` (this child only,
    unlike RUSAGE_CHILDREN, which keeps the maximum of every child ever waited for), and the
    peak of the whole tree's summed RSS (its worker processes too) from sampling /proc. CPU
    time counts the child and the processes it waited for."""
    out_path, err_path = log_dir / f"{name}.out", log_dir / f"{name}.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(list(args), env=dict(env), cwd=cwd, stdout=out, stderr=err)
        tree = _TreeMemory(process.pid)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        tree_peak = tree.stop()
    process.returncode = os.waitstatus_to_exitcode(status)
    return ChildRun(
        returncode=process.returncode,
        wall_seconds=wall,
        peak_rss_mb=max(usage.ru_maxrss / 1024, tree_peak),
        stdout=out_path.read_text(errors="replace"),
        stderr=err_path.read_text(errors="replace"),
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        own_peak_rss_mb=usage.ru_maxrss / 1024,
    )


def own_peak_rss_mb() -> float:
    """This process's peak RSS so far (MB; Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
