"""The gateway's Prometheus metrics: what each request adds, and what a worker reports.

    strangler_requests_total{endpoint, backend, reason, code}     code: 2xx, 3xx, 4xx, 5xx
    strangler_request_duration_seconds{endpoint, backend}          histogram (figures.BUCKETS)
    strangler_shadow_requests_total{endpoint, outcome}             shadowed, matched, mismatched...
    strangler_flag_table_version                                   per worker (pid under --workers)
    strangler_flag_store_up                                        per worker: 1, or 0 if unreadable
    strangler_flag_migrated_percentage{endpoint}                   the flags, as the scraped worker
                                                                   routes by them

`endpoint` is a route key (`POST /predict`), never a raw path: requests no app declares are
counted under `(unmatched)`, so a scanner cannot grow the series without bound.

Under several worker processes, prometheus_client's multiprocess mode adds them up: each worker
writes its values to files in PROMETHEUS_MULTIPROC_DIR (`strangler serve` makes that folder) and
a scrape of any worker reads them all (strangler.metrics.exposition).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from strangler.metrics.figures import BUCKETS, Tally, Totals, encode
from strangler.routing.decision import Reason
from strangler.types import Backend, Mode

if TYPE_CHECKING:
    from strangler.flags.watcher import FlagWatcher
    from strangler.shadow.tap import ShadowTap

UNMATCHED = "(unmatched)"
CODES = ("1xx", "1xx", "2xx", "3xx", "4xx", "5xx")  # by status // 100
SHADOW_OUTCOMES = (
    "shadowed",
    "compared",
    "matched",
    "mismatched",
    "declared",
    "dropped",
    "timed_out",
    "failed",
    "too_big",
    "busy",
)
# How often a worker brings its slower metrics (shadow counts, the flag gauges) up to date.
SYNC_EVERY = 1.0


def multiprocess() -> bool:
    """Whether prometheus_client writes this process's values to files for a scrape to add up."""
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class GatewayMetrics:
    """One worker's metrics. `observe` is on the request path: a dict lookup, then one counter
    and one histogram step; everything else runs in a background thread or at a scrape."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.requests = Counter(
            "strangler_requests",
            "Requests answered, by endpoint, the backend that served, why it was chosen, and the"
            " status class",
            ["endpoint", "backend", "reason", "code"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "strangler_request_duration_seconds",
            "Time from the request's arrival to its answer's last byte, by endpoint and backend",
            ["endpoint", "backend"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.shadow = Counter(
            "strangler_shadow_requests",
            "Shadowed requests by outcome (a mismatch later found to be noise stays counted here;"
            " `strangler shadow report` forgives it)",
            ["endpoint", "outcome"],
            registry=self.registry,
        )
        self.flag_version = Gauge(
            "strangler_flag_table_version",
            "The flag-table version this worker routes by",
            registry=self.registry,
            multiprocess_mode="liveall",
        )
        self.store_up = Gauge(
            "strangler_flag_store_up",
            "1 while this worker reads its flag store, 0 while it routes by its last good table",
            registry=self.registry,
            multiprocess_mode="liveall",
        )
        self._series: dict[tuple[str | None, Backend, Reason, int], tuple[Counter, Histogram]] = {}
        self._shadow_counted: dict[tuple[str, str], int] = {}
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()  # one sync at a time: the thread's or a scrape's

    def observe(
        self, endpoint: str | None, backend: Backend, reason: Reason, status: int, seconds: float
    ) -> None:
        """Counts one answered request (on the event loop, once per request)."""
        series = self._series.get((endpoint, backend, reason, status // 100))
        if series is None:
            series = self._add(endpoint, backend, reason, status)
        series[0].inc()
        series[1].observe(seconds)

    def _add(
        self, endpoint: str | None, backend: Backend, reason: Reason, status: int
    ) -> tuple[Counter, Histogram]:
        label = endpoint if endpoint is not None else UNMATCHED
        code = CODES[status // 100] if 100 <= status < 600 else "5xx"
        series = (
            self.requests.labels(label, backend.value, reason.value, code),
            self.duration.labels(label, backend.value),
        )
        self._series[(endpoint, backend, reason, status // 100)] = series
        return series

    def totals(self) -> Totals:
        """This worker's running totals per endpoint and backend (for the rollout judge),
        read from its own metrics: in multiprocess mode too, a metric reads this process's."""
        counts: dict[tuple[str, str], list[int]] = {}
        for family in self.requests.collect():
            for sample in family.samples:
                if not sample.name.endswith("_total"):
                    continue
                labels = sample.labels
                where = (labels["endpoint"], labels["backend"])
                requests_errors = counts.setdefault(where, [0, 0])
                requests_errors[0] += int(sample.value)
                if labels["code"] == "5xx":
                    requests_errors[1] += int(sample.value)
        cumulative: dict[tuple[str, str], list[int]] = {}
        sums: dict[tuple[str, str], float] = {}
        for family in self.duration.collect():
            for sample in family.samples:
                where = (sample.labels["endpoint"], sample.labels["backend"])
                if sample.name.endswith("_bucket"):
                    cumulative.setdefault(where, []).append(int(sample.value))
                elif sample.name.endswith("_sum"):
                    sums[where] = sample.value
        totals: Totals = {}
        for where, (requests, errors) in counts.items():
            running = cumulative.get(where, [0] * (len(BUCKETS) + 1))
            buckets = tuple(b - a for a, b in zip([0, *running[:-1]], running, strict=True))
            tally = Tally(requests, errors, sums.get(where, 0.0), buckets)
            totals.setdefault(where[0], {})[where[1]] = tally
        return totals

    def published(self) -> str | None:
        """This worker's totals for the flag store (its heartbeat publishes them), or None
        while it has counted nothing."""
        return encode(self.totals()) if self._series else None

    def start(self, watcher: FlagWatcher, shadow: ShadowTap | None) -> None:
        """Keeps the shadow counts and the flag gauges current, every SYNC_EVERY seconds."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(watcher, shadow), name="strangler-metrics", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self, watcher: FlagWatcher, shadow: ShadowTap | None) -> None:
        while not self._stop.wait(SYNC_EVERY):
            self.sync(watcher, shadow)

    def sync(self, watcher: FlagWatcher, shadow: ShadowTap | None) -> None:
        """Brings the flag gauges and the shadow counters up to date (a scrape calls it too, so
        the worker it reaches is exact)."""
        with self._lock:
            self.flag_version.set(watcher.snapshot.version)
            self.store_up.set(0 if watcher.error else 1)
            if shadow is None:
                return
            for key, record in list(shadow.records.items()):
                for outcome in SHADOW_OUTCOMES:
                    now = getattr(record, outcome)
                    counted = self._shadow_counted.get((key, outcome), 0)
                    if now > counted:  # a mismatch taken back as noise is not uncounted
                        self.shadow.labels(key, outcome).inc(now - counted)
                        self._shadow_counted[(key, outcome)] = now


class FlagCollector(Collector):
    """The flags as the scraped worker routes by them: the share of each endpoint's requests
    sent to migrated (read at each scrape; every worker follows the same table)."""

    def __init__(self, flags: Callable[[], Iterable[tuple[str, Mode, float]]]) -> None:
        self._flags = flags

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(
            "strangler_flag_migrated_percentage",
            "The share of the endpoint's requests routed to migrated, by its flag (0 to 100)",
            labels=["endpoint"],
        )
        for key, mode, percentage in self._flags():
            share = {Mode.LEGACY: 0.0, Mode.MIGRATED: 100.0, Mode.CANARY: percentage}.get(mode)
            if share is not None:
                family.add_metric([key], share)
        yield family
