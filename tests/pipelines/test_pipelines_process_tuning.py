"""Process tuning of the sync: freed column buffers leave resident memory; fewer GC passes."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

PROBE = """
import sys
import numpy as np
from pathlib import Path
from pipelines_etl.process_tuning import release_large_blocks_promptly

def rss_mb():
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20

assert release_large_blocks_promptly()
base = rss_mb()
kept = []
for _ in range(3):  # after the first freed block, glibc would serve the next from its heap
    blocks = []
    for _ in range(100):  # 100 x 8 MB, written, each followed by a small long-lived object
        blocks.append(np.ones(1_000_000))
        kept.append(bytearray(2_000))
    del blocks
print(round(rss_mb() - base))
"""


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only"
)
def test_freed_large_blocks_are_returned_to_the_system() -> None:
    grown = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    ).stdout
    assert int(grown) < 100  # 800 MB were allocated and freed three times


def test_tuning_sets_the_collector_thresholds_of_the_process() -> None:
    probe = (
        "import gc; from pipelines_etl.process_tuning import GC_THRESHOLDS, tune_sync_process;"
        "before = gc.get_threshold(); tune_sync_process();"
        "print(before != GC_THRESHOLDS and gc.get_threshold() == GC_THRESHOLDS)"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.stdout.strip() == "True", result.stderr
