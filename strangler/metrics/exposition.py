"""Serving the metrics: under the admin prefix (`GET /_strangler/metrics`), or on a port of
their own (`metrics_port`, started by `strangler serve`), in Prometheus's text format.

Under `strangler serve --workers N` each worker writes its values to files in a folder made
fresh at every start (PROMETHEUS_MULTIPROC_DIR), and a scrape reads them all: the figures add up
whichever worker answers. A folder the environment names already is used as it is (the app may
write there too) and never wiped.

A worker's per-worker gauges (its flag-table version, its store up) are files named for its pid;
one that exits cleanly removes them (`worker_exited`), one killed (`kill -9`, the OOM killer)
cannot, and its supervisor restarts it under a new pid. So every scrape first drops the gauge
files of pids no longer running (`drop_dead_workers`): the scrape lists the live workers only.
The counters' and histograms' files of a dead worker stay, so its requests still count in the
totals, as prometheus_client's multiprocess mode means them to. The workers and whoever scrapes
share a host (the folder is a local temporary one), so a pid names one of them.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import shutil
import tempfile
from collections.abc import Iterable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

from strangler.metrics.counters import GatewayMetrics, multiprocess

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def render(metrics: GatewayMetrics, *extra: Collector) -> tuple[bytes, str]:
    """The exposition a scrape gets, and its content type: every worker's figures in
    multiprocess mode (read from their files), else this process's; and `extra` collectors,
    which report what the scraped worker knows (e.g. its flags)."""
    if multiprocess():
        registry = CollectorRegistry()
        registry.register(LiveWorkers(os.environ[MULTIPROC_ENV]))
    else:
        registry = CollectorRegistry()
        registry.register(_Forward(metrics.registry))
    for collector in extra:
        registry.register(collector)
    return generate_latest(registry), CONTENT_TYPE_LATEST


class _Forward(Collector):
    """Reads another registry's metrics (so a scrape adds its extras without changing it)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterable[Metric]:
        return self._registry.collect()


class LiveWorkers(Collector):
    """Every worker's figures from the files in `folder`, once the gauges of dead workers are
    dropped."""

    def __init__(self, folder: str) -> None:
        self._folder = folder
        self._files = MultiProcessCollector(None, folder)  # type: ignore[no-untyped-call]

    def collect(self) -> Iterable[Metric]:
        drop_dead_workers(self._folder)
        return self._files.collect()  # type: ignore[no-untyped-call,no-any-return]


def drop_dead_workers(folder: str) -> list[int]:
    """Removes the live-gauge files of the pids in `folder` that no longer run (what
    prometheus_client's mark_process_dead does for one pid), and returns those pids. Counter and
    histogram files stay: a dead worker's requests still count."""
    dead: set[int] = set()
    for path in glob.glob(os.path.join(folder, "gauge_live*_*.db")):
        name = os.path.basename(path)[: -len(".db")].rsplit("_", 1)[1]
        if name.isdigit() and not _running(int(name)):
            dead.add(int(name))
    for pid in dead:
        for path in glob.glob(os.path.join(folder, f"gauge_live*_{pid}.db")):
            with contextlib.suppress(FileNotFoundError):  # a scrape at the same time removed it
                os.remove(path)
    return sorted(dead)


def _running(pid: int) -> bool:
    """Whether `pid` runs; a zombie (killed, not yet reaped by its supervisor) does not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it runs
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):  # no /proc (not Linux): os.kill said it runs
        return True


def prepare_multiprocess() -> str:
    """Makes the folder the workers write their metrics to, unless the environment names one,
    and sets PROMETHEUS_MULTIPROC_DIR for the workers; returns the folder. Called by `strangler
    serve` before it starts them; a folder it made is removed when it exits."""
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        os.makedirs(given, exist_ok=True)
        return given
    folder = tempfile.mkdtemp(prefix="strangler-metrics-")
    os.environ[MULTIPROC_ENV] = folder
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def worker_exited() -> None:
    """Drops this worker's per-worker gauges from the scrapes (at its shutdown)."""
    if multiprocess():
        mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def serve_port(port: int, host: str) -> None:
    """Serves every worker's metrics on `host:port` from this process (the one that starts the
    workers), in a daemon thread; needs multiprocess mode (prepare_multiprocess first)."""
    from prometheus_client import start_http_server

    registry = CollectorRegistry()
    registry.register(LiveWorkers(os.environ[MULTIPROC_ENV]))
    start_http_server(port, addr=host, registry=registry)
