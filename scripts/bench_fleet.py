"""How fast a flag change reaches a fleet: three `strangler serve --workers 2` on one
redis-server, 50 changes written to Redis, and for each the time until the last of the six
workers routes by it, by each worker's own clock (`scripts/bench --suites fleet`)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from tests.support.fleet import fleet, propagation, summary
from tests.support.redis_server import redis_server

Check = tuple[str, float, str, bool]


def run(changes: int = 50) -> list[Check]:
    from strangler.flags.store import open_store

    folder = Path(tempfile.mkdtemp())
    with redis_server(folder) as url:
        open_store(url, create=True).version()
        with fleet(folder, url, gateways=3, workers=2) as urls:
            took = propagation(urls, url, changes, workers=6)
    print(f"\nfleet: 3 gateways x 2 workers on one Redis: {summary(took)}")
    ordered = sorted(took)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return [("fleet: change to all 6 workers, p99 seconds", p99, "< 1.0", p99 < 1.0)]
