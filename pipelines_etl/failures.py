"""How a failure is said in one line: in sync_runs, in run summaries, in the CLI."""

from __future__ import annotations


def failure_message(error: BaseException, limit: int = 500) -> str:
    """The error's type and first line, cut to `limit` characters (no SQL dumps, no traces)."""
    first_line = (str(error).strip().splitlines() or [""])[0]
    text = f"{type(error).__name__}: {first_line}"
    return text if len(text) <= limit else text[: limit - 1] + "…"
