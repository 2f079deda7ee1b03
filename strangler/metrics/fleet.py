"""What every worker counted, as the flag store has it: each worker publishes its running totals
(and its shadow report) with its heartbeat, every few seconds; the worker asking adds its own,
live. The rollout judge and `strangler rollout status` read the whole fleet this way.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from strangler.flags.errors import FlagStoreError
from strangler.flags.store import FlagStore
from strangler.metrics.figures import Tally, Totals, decode
from strangler.shadow.record import FRESH

log = logging.getLogger("strangler.metrics")

# (compared, mismatched, 5xx answers both sides gave alike: served by migrated, by legacy)
ShadowCount = tuple[int, int, int, int]
# worker -> endpoint -> its counts
ShadowCounts = dict[str, dict[str, ShadowCount]]


@dataclasses.dataclass
class Fleet:
    """Every worker's totals and shadow counts, as of one read."""

    totals: dict[str, Totals]
    shadow: ShadowCounts

    def endpoint(self, key: str) -> dict[str, dict[str, Tally]]:
        """worker -> backend -> tally, for one endpoint."""
        return {worker: dict(t[key]) for worker, t in self.totals.items() if key in t}

    def shadow_of(self, key: str) -> dict[str, ShadowCount]:
        """worker -> (compared, mismatched, shared 5xx on migrated, on legacy), for one
        endpoint."""
        return {worker: s[key] for worker, s in self.shadow.items() if key in s}


@dataclasses.dataclass
class FleetReader:
    """Reads the fleet from `store`; `me` and the live callables add this worker's own."""

    store: FlagStore
    me: str | None = None
    live_totals: Callable[[], Totals] | None = None
    live_shadow: Callable[[], Mapping[str, Any]] | None = None

    def read(self) -> Fleet:
        """The fleet now; a store that cannot be read raises FlagStoreError."""
        totals: dict[str, Totals] = {}
        for worker, payload in self.store.published("requests", FRESH).items():
            try:
                totals[worker] = decode(payload)
            except ValueError as exc:
                log.warning("ignoring the request totals of worker %s: %s", worker, exc)
        shadow: ShadowCounts = {}
        for worker, payload in self.store.published("shadow", FRESH).items():
            try:
                shadow[worker] = shadow_counts(json.loads(payload))
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                log.warning("ignoring the shadow report of worker %s: %s", worker, exc)
        if self.me is not None:
            if self.live_totals is not None:
                totals[self.me] = self.live_totals()
            if self.live_shadow is not None:
                shadow[self.me] = shadow_counts(self.live_shadow())
        return Fleet(totals, shadow)

    def try_read(self) -> Fleet | None:
        try:
            return self.read()
        except FlagStoreError as exc:
            log.warning("cannot read the fleet's figures: %s", exc)
            return None


def shadow_counts(report: Mapping[str, Any]) -> dict[str, ShadowCount]:
    """endpoint -> its ShadowCount from a shadow report (strangler.shadow.tap)."""
    counts = {}
    for entry in report.get("endpoints", []):
        shared = entry.get("shared_errors") or {}
        counts[str(entry["endpoint"])] = (
            int(entry["compared"]),
            int(entry["mismatched"]),
            int(shared.get("migrated", 0)),
            int(shared.get("legacy", 0)),
        )
    return counts


def shadow_since(
    now: Mapping[str, Sequence[int]], start: Mapping[str, Sequence[int]]
) -> ShadowCount:
    """The ShadowCount of every worker since `start` (a count missing from `start`, written
    before it was kept, is 0). A worker whose comparisons went down restarted, and counts from
    zero (its mismatches may go down by themselves: those later found to be noise are taken
    back)."""
    compared = mismatched = shared_migrated = shared_legacy = 0
    for worker, counts in now.items():
        c, m, a, b = (*counts, 0, 0, 0, 0)[:4]
        c0, m0, a0, b0 = (*start.get(worker, ()), 0, 0, 0, 0)[:4]
        if c < c0:
            c0 = m0 = a0 = b0 = 0
        compared += c - c0
        mismatched += max(0, m - m0)
        shared_migrated += max(0, a - a0)
        shared_legacy += max(0, b - b0)
    return compared, mismatched, shared_migrated, shared_legacy
