"""Settings of a process that moves hundreds of thousands of rows: the sync and its worker.

- Memory follows the work: glibc raises its mmap threshold each time a large block is
  freed, after which pandas' big column buffers come from the heap and stay resident once
  freed (a sync of 100,000 deals per CRM kept the extract's peak through the metrics). A
  fixed threshold keeps every block of a megabyte or more in its own mapping, unmapped when
  freed.
- Between phases, `release_free_memory` hands the heap's free pages back (malloc_trim): the
  extract's JSON texts, freed in a scattered order, otherwise stay resident as holes.
- The cyclic garbage collector runs less often: its default (a pass every 700 allocations)
  took a fifth of a sync's CPU time walking millions of live row objects that hold no
  cycles. Reference counting still frees everything else at once.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
LARGE_BLOCK = 1 << 20
GC_THRESHOLDS = (100_000, 50, 100)


def release_large_blocks_promptly(threshold: int = LARGE_BLOCK) -> bool:
    """Fix glibc's mmap threshold at `threshold` bytes for this process; False where the C
    library has no `mallopt` (not glibc), which changes nothing."""
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, threshold))


def release_free_memory() -> bool:
    """Collect garbage, then return the C heap's free pages to the system (glibc's
    `malloc_trim`); False where the C library has no such call."""
    gc.collect()
    try:
        malloc_trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return False
    malloc_trim.argtypes = [ctypes.c_size_t]
    malloc_trim.restype = ctypes.c_int
    malloc_trim(0)
    return True


def tune_sync_process() -> None:
    """Apply both settings to this process (the CLI's sync, the normalize worker)."""
    release_large_blocks_promptly()
    gc.set_threshold(*GC_THRESHOLDS)
