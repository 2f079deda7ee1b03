"""Rollouts as Prometheus metrics, read from the store at each scrape (every worker reads the
same rollouts, so whichever answers the scrape tells the same):

    strangler_rollout_step{endpoint}                 the step it is at, from 1
    strangler_rollout_percentage{endpoint}           the share its step sends to migrated
    strangler_rollout_state{endpoint, state}         1 for the state it is in, 0 for the others
    strangler_rollout_events_total{endpoint, kind}   what happened (strangler.rollout.events)

Alert rules on them: docs/alerts.yml.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from strangler.metrics.counters import multiprocess
from strangler.rollout.events import EventCounter
from strangler.rollout.plan import Rollout, State


class RolloutCollector(Collector):
    """The gauges of every rollout kept, and the event counter (see the module)."""

    def __init__(self, rollouts: Callable[[], dict[str, Rollout]], counter: EventCounter) -> None:
        self._rollouts = rollouts
        self._counter = counter

    def collect(self) -> Iterable[Metric]:
        step = GaugeMetricFamily(
            "strangler_rollout_step",
            "The step each rollout is at (1: its first)",
            labels=["endpoint"],
        )
        share = GaugeMetricFamily(
            "strangler_rollout_percentage",
            "The share of requests each rollout's step sends to migrated (0 to 100)",
            labels=["endpoint"],
        )
        state = GaugeMetricFamily(
            "strangler_rollout_state",
            "1 for the state each rollout is in (running, paused, awaiting_approval, completed,"
            " rolled_back, aborted), 0 for the others",
            labels=["endpoint", "state"],
        )
        for key, rollout in sorted(self._rollouts().items()):
            step.add_metric([key], rollout.step + 1)
            share.add_metric([key], rollout.percentage)
            for each in State:
                state.add_metric([key, each.value], 1.0 if each is rollout.state else 0.0)
        yield from (step, share, state)
        if not multiprocess():  # under several workers the counter's files are read with the rest
            yield from self._counter.registry.collect()
