"""Request figures per endpoint and backend, and the arithmetic the rollout judge does on them.

Each worker counts its requests (strangler.metrics.counters) and publishes its running totals in
the flag store with its heartbeat, so the one instance that judges a rollout sees every worker of
every gateway on that store. A worker's id names one process (host, pid, gateway object): a
restarted worker is a new worker, counted from zero, and one worker's totals only grow. Totals
read at two moments can still be one fresh and one up to a heartbeat old (the judging worker
reads its own live): `since` never lets such a read count less than nothing.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from typing import Any

# Latency histogram bounds, in seconds: fine below 10 ms, where the gateway's own endpoints and
# most ported ones answer, and up to 10 s.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclasses.dataclass(frozen=True)
class Tally:
    """Requests of one endpoint on one backend: how many, how many answered 5xx, and their
    latencies (counts per BUCKETS bound, not cumulative, the last one past every bound), and
    how many answered 4xx (the dashboard's rates)."""

    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    buckets: tuple[int, ...] = (0,) * (len(BUCKETS) + 1)
    client_errors: int = 0  # 4xx

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.requests + other.requests,
            self.errors + other.errors,
            self.seconds + other.seconds,
            tuple(a + b for a, b in zip(self.buckets, other.buckets, strict=True)),
            self.client_errors + other.client_errors,
        )

    def since(self, earlier: Tally) -> Tally:
        """What was counted after `earlier`, field by field; a count that went down (`earlier`
        read fresher than this) counts as nothing, never as less."""
        return Tally(
            max(0, self.requests - earlier.requests),
            max(0, self.errors - earlier.errors),
            max(0.0, self.seconds - earlier.seconds),
            tuple(max(0, a - b) for a, b in zip(self.buckets, earlier.buckets, strict=True)),
            max(0, self.client_errors - earlier.client_errors),
        )

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None

    def quantile(self, q: float) -> float | None:
        """The q-quantile of the latencies, interpolated within its bucket as Prometheus's
        histogram_quantile does; None with no requests. Past the last bound: that bound."""
        total = sum(self.buckets)
        if not total:
            return None
        rank = q * total
        seen = 0
        for index, count in enumerate(self.buckets):
            if count and seen + count >= rank:
                if index == len(BUCKETS):
                    return BUCKETS[-1]
                low = BUCKETS[index - 1] if index else 0.0
                return low + (BUCKETS[index] - low) * (rank - seen) / count
            seen += count
        return BUCKETS[-1]

    def to_list(self) -> list[Any]:
        figures = [self.requests, self.errors, round(self.seconds, 6), list(self.buckets)]
        return [*figures, self.client_errors] if self.client_errors else figures

    @classmethod
    def from_list(cls, data: Any) -> Tally:
        # (4 figures from a worker that counts no 4xx: an older version in the same fleet)
        requests, errors, seconds, buckets, *client_errors = data
        counts = tuple(int(count) for count in buckets)
        if len(counts) != len(BUCKETS) + 1:
            raise ValueError(f"{len(counts)} latency buckets, not {len(BUCKETS) + 1}")
        fours = int(client_errors[0]) if client_errors else 0
        return cls(int(requests), int(errors), float(seconds), counts, fours)


# Endpoint key -> backend name -> tally: one worker's running totals.
Totals = dict[str, dict[str, Tally]]


def encode(totals: Totals) -> str:
    """A worker's totals as its heartbeat publishes them (JSON)."""
    return json.dumps(
        {
            key: {backend: t.to_list() for backend, t in sides.items()}
            for key, sides in totals.items()
        }
    )


def decode(payload: str) -> Totals:
    """Totals from `encode`; ValueError if the payload is not such totals."""
    try:
        data = json.loads(payload)
        return {
            str(key): {str(backend): Tally.from_list(t) for backend, t in sides.items()}
            for key, sides in data.items()
        }
    except (TypeError, ValueError, AttributeError, OverflowError, RecursionError) as exc:
        raise ValueError(f"not request totals: {exc}") from None


def window(
    now: Mapping[str, Mapping[str, Tally]], start: Mapping[str, Mapping[str, Tally]]
) -> dict[str, Tally]:
    """backend -> what every worker counted between `start` and `now` (both worker -> backend
    -> tally). A worker new since `start` counts from zero; one gone is left out (its requests
    since `start` with it: a rollout judged then has fewer requests, never wrong ones)."""
    summed: dict[str, Tally] = {}
    for worker, sides in now.items():
        before = start.get(worker, {})
        for backend, tally in sides.items():
            counted = tally.since(before[backend]) if backend in before else tally
            summed[backend] = summed.get(backend, Tally()) + counted
    return summed


def sides_to_json(sides: Mapping[str, Mapping[str, Tally]]) -> dict[str, Any]:
    return {w: {b: t.to_list() for b, t in by.items()} for w, by in sides.items()}


def sides_from_json(data: Mapping[str, Any]) -> dict[str, dict[str, Tally]]:
    return {w: {b: Tally.from_list(t) for b, t in by.items()} for w, by in data.items()}


def percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.2f}%"


def millis(seconds: float | None) -> str:
    return "-" if seconds is None or math.isnan(seconds) else f"{seconds * 1000:.1f} ms"
