"""Serving the metrics: under the admin prefix (`GET /_strangler/metrics`), or on a port of
their own (`metrics_port`, started by `strangler serve`), in Prometheus's text format.

Under `strangler serve --workers N` each worker writes its values to files in a folder made
fresh at every start (PROMETHEUS_MULTIPROC_DIR), and a scrape reads them all: the figures add up
whichever worker answers. A folder the environment names already is used as it is (the app may
write there too) and never wiped.
"""

from __future__ import annotations

import atexit
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
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
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
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    start_http_server(port, addr=host, registry=registry)
