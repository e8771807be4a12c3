"""The baseline of the sync benchmark: download and parse every deal page of each configured
source (`connector.deals_since(None)`, then flatten deals and history) with no warehouse work.

Runs as a child (`python -m benchmarks.download`) in the environment the sandbox exported,
and prints one JSON object: seconds, deals, pages and API calls per source.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from pipelines_etl.config import load_config
from pipelines_etl.sources import configured_sources


def download_all() -> dict[str, Any]:
    """Read and flatten every deal page of every source; timings per source."""
    env = dict(os.environ)
    found: dict[str, Any] = {}
    for source in configured_sources(load_config(env), env):
        connector = source.connect(env)
        started = time.perf_counter()
        deals = pages = history = 0
        for page in connector.deals_since(None):
            connector.flatten_deals(page.deals)
            connector.flatten_history(page.history)
            deals += len(page.deals)
            history += len(page.history)
            pages += 1
        found[source.name] = {
            "seconds": time.perf_counter() - started,
            "deals": deals,
            "history": history,
            "pages": pages,
            "api_calls": connector.api_calls,
        }
    return found


if __name__ == "__main__":
    print(json.dumps(download_all()))
