"""The gateway's Prometheus metrics: what each request adds, and what a worker reports.

    strangler_requests_total{endpoint, backend, reason, code}     code: 2xx, 3xx, 4xx, 5xx
    strangler_request_duration_seconds{endpoint, backend}          histogram (figures.BUCKETS)
    strangler_shadow_requests_total{endpoint, outcome}             shadowed, matched, mismatched...
    strangler_flag_table_version                                   per worker (pid under --workers)
    strangler_flag_store_up                                        per worker: 1, or 0 if unreadable
    strangler_flag_migrated_percentage{endpoint}                   the flags, as the scraped worker
                                                                   routes by them
    strangler_request_log_dropped_lines_total                      request-log lines not written
                                                                   (a full disk, a closed pipe)

`endpoint` is a route key (`POST /predict`), never a raw path: requests no app declares are
counted under `(unmatched)`, so a scanner cannot grow the series without bound.

In one process the request figures are plain counts, bumped on the event loop (a dict lookup
and three additions: the cost per request stays under a microsecond), and read by a collector at
each scrape. Under several worker processes prometheus_client's multiprocess mode adds them up:
each worker writes its values to files in PROMETHEUS_MULTIPROC_DIR (`strangler serve` makes that
folder) and a scrape of any worker reads them all (strangler.metrics.exposition); that costs a
few microseconds a request more, for the file writes.
"""

from __future__ import annotations

import bisect
import logging
import os
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from strangler.metrics.figures import BUCKETS, Tally, Totals, encode
from strangler.routing.decision import Decision, Reason
from strangler.serving.ticker import Ticker
from strangler.shadow.record import COUNTS
from strangler.types import Backend, Mode

if TYPE_CHECKING:
    from strangler.flags.watcher import FlagWatcher
    from strangler.shadow.tap import ShadowTap

log = logging.getLogger("strangler.metrics")

UNMATCHED = "(unmatched)"
CODES = ("1xx", "1xx", "2xx", "3xx", "4xx", "5xx")  # by status // 100
SHADOW_OUTCOMES = COUNTS  # each count of a shadow report is an outcome
# Answers the gateway gave itself (load shed, body too large): counted in the metrics, not held
# against the backend by the rollout judge and the guard (strangler.rollout).
GATEWAY_ANSWERS = frozenset({Reason.SHED.value, Reason.TOO_LARGE.value})
# How often a worker brings its slower metrics (shadow counts, the flag gauges) up to date.
SYNC_EVERY = 1.0


def multiprocess() -> bool:
    """Whether prometheus_client writes this process's values to files for a scrape to add up."""
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


REQUESTS_HELP = (
    "Requests answered, by endpoint, the backend that served, why it was chosen, and the status"
    " class"
)
DURATION_HELP = "Time from the request's arrival to its answer's last byte, by endpoint and backend"

# One process's request figures: (endpoint, backend, reason, status // 100) -> [count], and
# (endpoint, backend) -> [seconds, per-bucket counts...] (the last bucket past every bound).
Counts = dict[tuple[str | None, Backend, Reason, int], list[int]]
Latencies = dict[tuple[str | None, Backend], list[float]]


class GatewayMetrics:
    """One worker's metrics. `request_done` is on the request path; everything else runs in a
    background thread or at a scrape."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.shared = multiprocess()  # several workers: values in files, added up at a scrape
        self._counts: Counts = {}
        self._latencies: Latencies = {}
        # Both of a request's figures under one key, so that counting it is one lookup.
        self._tallies: dict[
            tuple[str | None, Backend, Reason, int], tuple[list[int], list[float] | None]
        ] = {}
        self._series: dict[tuple[str | None, Backend, Reason, int], tuple[Counter, Histogram]] = {}
        if self.shared:
            self.requests = Counter(
                "strangler_requests",
                REQUESTS_HELP,
                ["endpoint", "backend", "reason", "code"],
                registry=self.registry,
            )
            self.duration = Histogram(
                "strangler_request_duration_seconds",
                DURATION_HELP,
                ["endpoint", "backend"],
                buckets=BUCKETS,
                registry=self.registry,
            )
        else:
            self.registry.register(_Figures(self._counts, self._latencies))
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
        self.log_dropped = Counter(
            "strangler_request_log_dropped_lines",
            "Request-log lines dropped whole because the log could not be written (a full disk,"
            " a closed pipe; strangler.metrics.requestlog)",
            registry=self.registry,
        )
        self._shadow_counted: dict[tuple[str, str], int] = {}
        self._ticker: Ticker | None = None
        self._lock = threading.Lock()  # one sync at a time: the thread's or a scrape's

    def request_done(
        self,
        method: str,
        decision: Decision,
        backend: Backend,
        reason: Reason,
        status: int,
        seconds: float,
        request_id: bytes | None,
    ) -> None:
        """The gateway's observer hook (strangler.gateway.hooks): counts one answered request,
        on the event loop, once per request."""
        endpoint = decision.endpoint
        if self.shared:
            self._observe_shared(endpoint, backend, reason, status, seconds)
            return
        key = (endpoint, backend, reason, status // 100)
        tally = self._tallies.get(key)
        if tally is None:
            tally = self._tallies[key] = self._tally(key)
        tally[0][0] += 1
        latency = tally[1]
        if latency is not None:
            latency[0] += seconds
            latency[1 + bisect.bisect_left(BUCKETS, seconds)] += 1

    def lines_dropped(self, lines: int) -> None:
        """The request log's `on_drop` hook: counts the lines it could not write."""
        self.log_dropped.inc(lines)

    def _tally(
        self, key: tuple[str | None, Backend, Reason, int]
    ) -> tuple[list[int], list[float] | None]:
        """The count of a (endpoint, backend, reason, status class), new at 0, and the latency
        figures it adds to (None for the gateway's own answers: not the backend's latency)."""
        count = self._counts.setdefault(key, [0])
        endpoint, backend, reason, _ = key
        if reason in GATEWAY_ANSWERS:
            return count, None
        latency = self._latencies.setdefault((endpoint, backend), [0.0] * (len(BUCKETS) + 2))
        return count, latency

    def _observe_shared(
        self, endpoint: str | None, backend: Backend, reason: Reason, status: int, seconds: float
    ) -> None:
        """`request_done` in multiprocess mode: into prometheus_client's values (files)."""
        series = self._series.get((endpoint, backend, reason, status // 100))
        if series is None:
            label = endpoint if endpoint is not None else UNMATCHED
            series = (
                self.requests.labels(label, backend.value, reason.value, _code(status)),
                self.duration.labels(label, backend.value),
            )
            self._series[(endpoint, backend, reason, status // 100)] = series
        series[0].inc()
        if reason not in GATEWAY_ANSWERS:  # not the backend's latency
            series[1].observe(seconds)

    def totals(self) -> Totals:
        """This worker's running totals per endpoint and backend (for the rollout judge)."""
        if self.shared:
            return self._shared_totals()
        counts: dict[tuple[str, str], list[int]] = {}
        for (endpoint, backend, reason, status_class), count in self._counts.copy().items():
            if reason in GATEWAY_ANSWERS:
                continue
            where = (endpoint if endpoint is not None else UNMATCHED, backend.value)
            requests_errors = counts.setdefault(where, [0, 0, 0])
            requests_errors[0] += count[0]
            if status_class >= 5:
                requests_errors[1] += count[0]
            elif status_class == 4:
                requests_errors[2] += count[0]
        totals: Totals = {}
        for (endpoint, backend), latency in self._latencies.copy().items():
            where = (endpoint if endpoint is not None else UNMATCHED, backend.value)
            requests, errors, fours = counts.get(where, (0, 0, 0))
            buckets = tuple(int(n) for n in latency[1:])
            tally = Tally(requests, errors, latency[0], buckets, fours)
            totals.setdefault(where[0], {})[where[1]] = tally
        return totals

    def _shared_totals(self) -> Totals:
        """Totals read from this worker's prometheus_client values (a metric's collect() reads
        this process's own, in multiprocess mode too)."""
        counts: dict[tuple[str, str], list[int]] = {}
        for family in self.requests.collect():
            for sample in family.samples:
                if not sample.name.endswith("_total"):
                    continue
                labels = sample.labels
                if labels["reason"] in GATEWAY_ANSWERS:
                    continue
                where = (labels["endpoint"], labels["backend"])
                requests_errors = counts.setdefault(where, [0, 0, 0])
                requests_errors[0] += int(sample.value)
                if labels["code"] == "5xx":
                    requests_errors[1] += int(sample.value)
                elif labels["code"] == "4xx":
                    requests_errors[2] += int(sample.value)
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
        for where, (requests, errors, fours) in counts.items():
            running = cumulative.get(where, [0] * (len(BUCKETS) + 1))
            buckets = tuple(b - a for a, b in zip([0, *running[:-1]], running, strict=True))
            tally = Tally(requests, errors, sums.get(where, 0.0), buckets, fours)
            totals.setdefault(where[0], {})[where[1]] = tally
        return totals

    def published(self) -> str | None:
        """This worker's totals for the flag store (its heartbeat publishes them), or None
        while it has counted nothing."""
        return encode(self.totals()) if self._counts or self._series else None

    def start(self, watcher: FlagWatcher, shadow: ShadowTap | None) -> None:
        """Keeps the shadow counts and the flag gauges current, every SYNC_EVERY seconds."""
        if self._ticker is None:
            self._ticker = Ticker(
                "strangler-metrics", SYNC_EVERY, lambda: self._sync(watcher, shadow)
            )
            self._ticker.start()

    def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None

    def _sync(self, watcher: FlagWatcher, shadow: ShadowTap | None) -> None:
        try:
            self.sync(watcher, shadow)
        except Exception:  # the next second tries again
            log.exception("could not bring the metrics up to date")

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


def _code(status: int) -> str:
    return CODES[status // 100] if 100 <= status < 600 else "5xx"


class _Figures(Collector):
    """One process's request figures, as Prometheus families, read at each scrape."""

    def __init__(self, counts: Counts, latencies: Latencies) -> None:
        self._counts = counts
        self._latencies = latencies

    def collect(self) -> Iterable[Metric]:
        labels = ["endpoint", "backend", "reason", "code"]
        requests = CounterMetricFamily("strangler_requests", REQUESTS_HELP, labels=labels)
        by_code: dict[tuple[str, str, str, str], int] = {}
        for (endpoint, backend, reason, status_class), count in self._counts.copy().items():
            label = endpoint if endpoint is not None else UNMATCHED
            code = _code(status_class * 100)
            key = (label, backend.value, reason.value, code)
            by_code[key] = by_code.get(key, 0) + count[0]  # 0xx and 1xx share a code
        for key, value in by_code.items():
            requests.add_metric(list(key), value)
        yield requests
        duration = HistogramMetricFamily(
            "strangler_request_duration_seconds", DURATION_HELP, labels=["endpoint", "backend"]
        )
        bounds = [*(repr(float(b)) for b in BUCKETS), "+Inf"]
        for (endpoint, backend), latency in self._latencies.copy().items():
            label = endpoint if endpoint is not None else UNMATCHED
            cumulative, running = [], 0.0
            for bound, observed in zip(bounds, latency[1:], strict=True):
                running += observed
                cumulative.append((bound, running))
            duration.add_metric([label, backend.value], cumulative, sum_value=latency[0])
        yield duration


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
