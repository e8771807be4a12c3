"""The sandbox CRMs in their own process (`pipelines-etl sandbox serve`), so a benchmark of
the sync does not measure the sandbox's work or memory."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from types import TracebackType

from benchmarks.measure import REPO

CLI = REPO / ".venv" / "bin" / "pipelines-etl"


class SandboxProcess:
    """`pipelines-etl sandbox serve --port 0 --deals N` until the context exits; `env` holds
    its `export` lines and `startup_seconds` the time to `ready`."""

    def __init__(self, *, deals: int, seed: int = 0, timeout: float = 600.0) -> None:
        self.deals = deals
        self.seed = seed
        self.timeout = timeout
        self.env: dict[str, str] = {}
        self.startup_seconds = 0.0
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> SandboxProcess:
        started = time.perf_counter()
        args = [str(CLI), "sandbox", "serve", "--port", "0", "--deals", str(self.deals),
                "--seed", str(self.seed)]  # fmt: skip
        self._process = subprocess.Popen(
            args, cwd=REPO, stdout=subprocess.PIPE, text=True, env=dict(os.environ)
        )
        assert self._process.stdout is not None
        for line in self._process.stdout:
            line = line.strip()
            if line == "ready":
                break
            if line.startswith("export "):
                name, _, value = line[len("export ") :].partition("=")
                self.env[name] = shlex.split(value)[0] if value else ""
            if time.perf_counter() - started > self.timeout:
                raise TimeoutError("the sandbox did not get ready in time")
        else:
            raise RuntimeError(f"the sandbox exited early (status {self._process.wait()})")
        self.startup_seconds = time.perf_counter() - started
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._process is None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None
