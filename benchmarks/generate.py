"""Benchmark: generating N deals per CRM (both CRMs, one process): time and peak RSS, then
OpportunityHistory, whose rows are built when read: the first read of 200 opportunities'
history, and a full pass over every row (what a query without an OpportunityId filter costs).

The generation runs in a child process (`python -m benchmarks.generate N`), which prints one
JSON object; the parent adds the child's peak RSS from `os.wait4`.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.measure import PYTHON, REPO, own_peak_rss_mb, run_child

TARGET_SECONDS = 60.0


def measure_in_process(deals: int) -> dict[str, Any]:
    """Generate both CRMs here and time each step (run inside the child)."""
    from connectors.sandbox.hubspot.generate import generate_state
    from connectors.sandbox.salesforce.generate import generate

    started = time.perf_counter()
    org = generate(deals=deals, seed=0)
    salesforce = time.perf_counter() - started
    portal = generate_state(deals=deals, seed=0)
    both = time.perf_counter() - started
    rss_generated = own_peak_rss_mb()
    ids = list(org.table("Opportunity"))[1000:1200]
    history_started = time.perf_counter()
    some = org.rows_by("OpportunityHistory", "OpportunityId", ids)
    history = time.perf_counter() - history_started
    scan_started = time.perf_counter()
    rows = sum(1 for _ in org.table("OpportunityHistory").values())
    scan = time.perf_counter() - scan_started
    assert len(portal.deals) == deals and rows == len(org.table("OpportunityHistory"))
    return {
        "salesforce_s": salesforce,
        "hubspot_s": both - salesforce,
        "both_s": both,
        "rss_generated_mb": rss_generated,
        "history_s": history,
        "history_some_rows": len(some),
        "history_scan_s": scan,
        "history_rows": rows,
        "rss_with_history_mb": own_peak_rss_mb(),
    }


def run(*, deals: int) -> list[tuple[str, str, str]]:
    """Rows (measure, value, verdict) of the generation benchmark at `deals` per CRM."""
    with tempfile.TemporaryDirectory(prefix="bench-generate-") as tmp:
        child = run_child(
            [PYTHON, "-m", "benchmarks.generate", str(deals)],
            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
            cwd=REPO,
            log_dir=Path(tmp),
            name="generate",
        )
    if child.returncode != 0:
        raise RuntimeError(f"generation failed:\n{child.stderr[-2000:]}")
    found = json.loads(child.stdout.strip().splitlines()[-1])
    met = "met" if found["both_s"] < TARGET_SECONDS else "NOT met"
    return [
        (f"generate {deals:,} deals/CRM, both CRMs", f"{found['both_s']:.1f} s "
         f"(SF {found['salesforce_s']:.1f} s, HS {found['hubspot_s']:.1f} s)",
         f"< 60 s: {met}"),
        ("  peak RSS after generation", f"{found['rss_generated_mb']:,.0f} MB", ""),
        (f"  OpportunityHistory first read, 200 opportunities ({found['history_some_rows']:,}"
         " rows)", f"{found['history_s'] * 1000:.1f} ms", ""),
        (f"  OpportunityHistory full pass ({found['history_rows']:,} rows built)",
         f"{found['history_scan_s']:.1f} s", ""),
        ("  peak RSS after the full pass", f"{found['rss_with_history_mb']:,.0f} MB", ""),
    ]  # fmt: skip


if __name__ == "__main__":
    print(json.dumps(measure_in_process(int(sys.argv[1]))))
