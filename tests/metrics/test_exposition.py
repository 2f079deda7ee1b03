"""Serving the metrics (strangler.metrics.exposition): the files of several worker processes, read
at a scrape, with the gauges of dead workers dropped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from strangler.metrics.exposition import LiveWorkers, drop_dead_workers
from tests.support.waiting import wait_until

# A worker in miniature: one request counted, its per-worker gauge set, as GatewayMetrics does;
# then it waits for its stdin to close (or is ended with it already done).
WORKER = """
import sys
from prometheus_client import CollectorRegistry, Counter, Gauge
registry = CollectorRegistry()
Counter("strangler_requests", "", ["endpoint"], registry=registry).labels("GET /a").inc()
Gauge("strangler_flag_store_up", "", registry=registry, multiprocess_mode="liveall").set(1)
print("counted", flush=True)
sys.stdin.read()
"""


def worker(folder: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    process = subprocess.Popen(
        [sys.executable, "-c", WORKER],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "counted\n"
    return process


def scrape(folder: Path) -> str:
    registry = CollectorRegistry()
    registry.register(LiveWorkers(str(folder)))
    return generate_latest(registry).decode()


def test_a_killed_worker_leaves_the_gauges_and_keeps_its_requests(tmp_path: Path) -> None:
    """A scrape lists the gauges of running workers only, and still adds up the requests of a
    worker that was killed (#22)."""
    folder = tmp_path
    killed, live = worker(folder), worker(folder)
    try:
        killed.kill()  # as kill -9: its gauge file stays behind
        killed.communicate()
        assert (folder / f"gauge_liveall_{killed.pid}.db").exists()
        text = scrape(folder)
    finally:
        live.communicate("")
    assert f'strangler_flag_store_up{{pid="{live.pid}"}} 1.0' in text
    assert f'pid="{killed.pid}"' not in text
    assert 'strangler_requests_total{endpoint="GET /a"} 2.0' in text
    assert not (folder / f"gauge_liveall_{killed.pid}.db").exists()


def test_an_unreaped_worker_counts_as_dead(tmp_path: Path) -> None:
    """A killed worker its supervisor has not reaped yet (a zombie) is dropped all the same."""
    folder = tmp_path
    zombie = worker(folder)
    try:
        zombie.kill()
        # Not waited for: it stays a zombie until then.
        wait_until(lambda: drop_dead_workers(str(folder)) == [zombie.pid], what="the zombie")
    finally:
        zombie.communicate()
    assert list(folder.glob("gauge_live*")) == []
    assert list(folder.glob("counter_*.db")) != []


def test_files_that_name_no_pid_are_left_alone(tmp_path: Path) -> None:
    """Gauge files named by a process identifier other than a pid are not removed."""
    (tmp_path / "gauge_liveall_worker-a.db").write_bytes(b"")
    assert drop_dead_workers(str(tmp_path)) == []
    assert (tmp_path / "gauge_liveall_worker-a.db").exists()
