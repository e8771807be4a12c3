"""Run the benchmarks and print a Markdown table: `python -m benchmarks.run [--only NAME]
[--deals N]` (NAME: generate, pages, sync; N overrides each benchmark's deal count)."""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from datetime import UTC, datetime

from benchmarks import generate, pages, sync

Row = tuple[str, str, str]
BENCHMARKS: dict[str, tuple[Callable[..., list[Row]], int]] = {
    "generate": (generate.run, 500_000),
    "pages": (pages.run, 500_000),
    "sync": (sync.run, 100_000),
}


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments, run the chosen benchmarks, print their rows as they finish."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--only", choices=sorted(BENCHMARKS), action="append")
    parser.add_argument("--deals", type=int, help="deals per CRM (default: per benchmark)")
    args = parser.parse_args(argv)
    chosen = args.only or list(BENCHMARKS)
    print(f"# benchmarks {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.platform()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}\n")  # fmt: skip
    print("| measure | value | target |\n|---|---|---|", flush=True)
    for name in chosen:
        bench, default_deals = BENCHMARKS[name]
        started = time.perf_counter()
        for measure, value, verdict in bench(deals=args.deals or default_deals):
            print(f"| {measure} | {value} | {verdict} |", flush=True)
        print(f"| ({name} took {time.perf_counter() - started:.0f} s) | | |", flush=True)


if __name__ == "__main__":
    main()
