"""A fleet of gateway processes on one Redis, and how long a flag change takes to reach every
worker (tests/e2e/test_redis_fleet.py and scripts/bench_fleet.py)."""

from __future__ import annotations

import concurrent.futures
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from tests.support.redis_server import listeners
from tests.support.servers import free_port, running
from tests.support.waiting import wait_until

STRANGLER = str(Path(sys.executable).parent / "strangler")
APPS = (
    'legacy = "tests.test_apps.rollout_pair:legacy"\n'
    'migrated = "tests.test_apps.rollout_pair:migrated"\n'
)


@contextmanager
def fleet(folder: Path, redis_url: str, gateways: int, workers: int) -> Iterator[list[str]]:
    """`gateways` `strangler serve` processes of `workers` workers each, on one Redis store."""
    config = folder / "strangler.toml"
    config.write_text(APPS + f'flags = "{redis_url}"\n')
    with ExitStack() as stack:
        urls = []
        for _ in range(gateways):
            port = free_port()
            argv = [STRANGLER, "serve", "--config", str(config), "--port", str(port), "--dev"]
            argv += ["--workers", str(workers), "--no-access-log"]
            urls.append(
                stack.enter_context(
                    running(argv, port=port, ready_path="/_strangler/health", timeout=90)
                )
            )
        yield urls


def health(url: str, client: httpx.Client | None = None) -> tuple[str, int, float]:
    """(the worker that answered, the flag version it routes by, since when), on a new
    connection. Asking often, pass a client: a new one (`httpx.get`) loads the TLS
    certificates first, some 30 ms of this process's CPU, fifty times the health's 2 ms."""
    headers = {"Connection": "close"}  # the next question lands on any worker
    path = url + "/_strangler/health"
    answer = (client or httpx).get(path, headers=headers, timeout=5)
    data = answer.json()
    flags = data["flags"]
    return str(data["worker"]), int(flags["version"]), float(flags["changed_at"] or 0.0)


def workers_of(
    urls: list[str], expected: int, client: httpx.Client, timeout: float = 90.0
) -> set[str]:
    """Asks until `expected` distinct workers have answered (connections land at random)."""
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while len(seen) < expected:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {len(seen)} of {expected} workers answered")
        for url in urls:
            seen.add(health(url, client)[0])
    return seen


def wait_for_workers(url: str, workers: int, version: int, within: float = 90.0) -> None:
    """Waits until `workers` distinct workers behind `url` route by flag `version` or a later
    one (asked on new connections, which land on any worker): after a change, before requests
    that each worker must serve by it. The deadline is generous, as it costs nothing when the
    workers follow at once: with both cores busy a worker may go seconds without a turn."""
    following: set[str] = set()

    def all_follow() -> bool:
        worker, seen, _ = health(url, client)
        if seen >= version:
            following.add(worker)
        return len(following) >= workers

    with httpx.Client() as client:
        wait_until(all_follow, within=within, what=f"{workers} workers at flag version {version}")


def time_to_every_worker(
    urls: list[str], workers: set[str], version: int, since: float, client: httpx.Client
) -> float:
    """Seconds from `since` (wall clock, this machine) until the last of `workers` took
    `version`, by each worker's own account (its health's `changed_at`): how often the test
    asks does not enter the figure."""
    took: dict[str, float] = {}

    def ask(url: str) -> None:
        while len(took) < len(workers) and time.time() - since < 10:
            worker, seen, changed_at = health(url, client)
            if seen == version:
                took[worker] = changed_at - since

    with concurrent.futures.ThreadPoolExecutor(len(urls) * 2) as pool:
        list(pool.map(ask, urls * 2))
    if len(took) < len(workers):
        raise TimeoutError(f"{len(workers) - len(took)} worker(s) never took version {version}")
    return max(took.values())


def propagation(urls: list[str], redis_url: str, changes: int, workers: int) -> list[float]:
    """Makes `changes` flag changes (written straight to the store) and returns, for each, the
    seconds until all `workers` workers route by it."""
    from strangler.flags.model import Flag
    from strangler.flags.store import open_store

    store = open_store(redis_url)
    with httpx.Client() as client:  # one, shared by the asking threads (it is thread-safe)
        everyone = workers_of(urls, workers, client)
        wait_until(lambda: listeners(redis_url) >= workers, what="every worker listening")
        took = []
        for i in range(changes):
            flag = Flag.build("migrated" if i % 2 == 0 else "legacy")
            since = time.time()
            entry = store.set("GET /work", flag, actor="fleet-test", reason=f"change {i}")
            took.append(time_to_every_worker(urls, everyone, entry.version, since, client))
            time.sleep(0.05)  # a pace between two changes, not a wait for anything
    store.close()
    return took


def summary(took: list[float]) -> str:
    ordered = sorted(took)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return (
        f"{len(took)} changes: p50 {statistics.median(took) * 1000:.0f} ms,"
        f" p99 {p99 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms"
    )
