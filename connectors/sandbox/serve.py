"""`pipelines-etl sandbox serve`: run the sandbox CRMs until SIGINT/SIGTERM.

Prints the `export NAME=value` lines that point the toolkit at it, then `ready`.
"""

from __future__ import annotations

import json
import shlex
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from connectors.sandbox.api import FixtureError
from connectors.sandbox.server import SandboxServer


def load_fixture(path: Path) -> dict[str, Any]:
    """Read a fixture file; unreadable or non-JSON content is a FixtureError naming the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise FixtureError(str(path), f"cannot read: {error.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FixtureError(str(path), f"not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise FixtureError("$", "the fixture must be a JSON object")
    return data


def export_lines(env: dict[str, str]) -> list[str]:
    """Shell lines `export NAME=value`, values quoted for the shell."""
    return [f"export {name}={shlex.quote(value)}" for name, value in env.items()]


def serve(
    *, port: int, deals: int | None, data: Path | None, seed: int, faults: str | None
) -> None:
    """Serve both sandbox CRMs on 127.0.0.1:port until SIGINT or SIGTERM."""
    fixture = load_fixture(data) if data is not None else None
    server = SandboxServer(port=port, deals=deals, fixture=fixture, seed=seed, faults=faults)
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    server.start()
    try:
        for line in export_lines(server.env()):
            print(line)
        print("ready", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sys.stdout.flush()
