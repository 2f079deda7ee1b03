"""The dashboard's recent past: the fleet's totals per endpoint and backend, and each active
rollout's findings, sampled every STEP seconds in a thread of the gateway's (the Sampler, while
the dashboard can be opened) and kept for WINDOW seconds. From them the pages draw small time
series (rates per backend, p99, each criterion against its max) and the overview's figures over
the last RECENT seconds, which say "no traffic" rather than keep a stale p99. A page only reads
them, so the first look already shows what happened before anyone looked.

Each worker keeps its own samples of the fleet's totals (the same in every worker): with
several, a page sees what the worker it reached sampled. Nothing is stored.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import logging
import math
import threading
import time

from strangler.flags.errors import FlagStoreError
from strangler.metrics.figures import Tally
from strangler.metrics.figures import window as summed
from strangler.rollout.judge import Finding, judge
from strangler.rollout.service import RolloutService
from strangler.serving.ticker import Ticker

log = logging.getLogger("strangler.dashboard")

STEP = 5.0  # seconds between samples, at most
WINDOW = 600.0  # seconds of samples kept and drawn
RECENT = 60.0  # seconds the overview's figures cover

# endpoint -> backend -> everything the fleet counted (every worker's totals added up)
Counted = dict[str, dict[str, Tally]]


@dataclasses.dataclass(frozen=True)
class Rate:
    """One backend's answers between two samples (or over the last RECENT seconds)."""

    start: float
    end: float
    tally: Tally

    @property
    def per_second(self) -> float:
        return self.tally.requests / max(self.end - self.start, 1e-9)

    def share_per_second(self, kind: str) -> float:
        """Answers a second of one kind: 2xx (every answer not 4xx or 5xx), 4xx or 5xx."""
        t = self.tally
        count = {"4xx": t.client_errors, "5xx": t.errors}.get(kind)
        if count is None:
            count = t.requests - t.client_errors - t.errors
        return max(0, count) / max(self.end - self.start, 1e-9)

    @property
    def p99(self) -> float | None:
        """None with no traffic: never the last p99 there was."""
        return self.tally.quantile(0.99) if self.tally.requests else None


@dataclasses.dataclass(frozen=True)
class Judged:
    """A rollout's findings at one sample, at its step then."""

    at: float
    step: int
    percentage: float
    findings: tuple[Finding, ...]


class Samples:
    """The samples one worker took for its dashboard: one every `step` seconds at most, those of
    the last `window` seconds kept (a window's worth at most, whatever the clock does)."""

    def __init__(
        self, rollouts: RolloutService, *, step: float = STEP, window: float = WINDOW
    ) -> None:
        self._rollouts = rollouts
        self.step, self.window = step, window
        self._kept = math.ceil(window / step) + 1
        self._counted: collections.deque[tuple[float, Counted]] = collections.deque(
            maxlen=self._kept
        )
        self._judged: dict[str, collections.deque[Judged]] = {}
        self._lock = threading.Lock()  # taken in the sampler's thread, read in the pages'

    def take(self, now: float | None = None) -> None:
        """Samples the fleet, unless the last sample is recent (under 0.9 `step` seconds: a tick
        a little early, as a thread's wait and the wall clock drift apart, still samples). A
        clock set back starts the samples afresh: charts over times that went by twice mean
        nothing, and waiting for the clock to catch up would sample nothing until then."""
        now = time.time() if now is None else now
        with self._lock:
            last = self._counted[-1][0] if self._counted else None
        if last is not None and 0 <= now - last < self.step * 0.9:
            return
        # Read outside the lock: a slow store holds up this thread, never a page.
        fleet = self._rollouts.fleet.try_read()
        if fleet is None:
            return
        keys = {key for totals in fleet.totals.values() for key in totals}
        counted = {key: summed(fleet.endpoint(key), {}) for key in keys}
        judged: dict[str, Judged] = {}
        for rollout in self._rollouts.load().values():
            if rollout.state.active:
                plan = rollout.plan
                window = self._rollouts.window(rollout, fleet)
                verdict = judge(plan, rollout.step, window, rollout.reference, due=False)
                judged[plan.endpoint] = Judged(
                    now, rollout.step, rollout.percentage, verdict.findings
                )
        with self._lock:
            if self._counted and now < self._counted[-1][0]:
                self._counted.clear()
                self._judged.clear()
            self._counted.append((now, counted))
            for key, one in judged.items():
                kept = self._judged.get(key)
                if kept is None:
                    kept = self._judged[key] = collections.deque(maxlen=self._kept)
                kept.append(one)
            self._forget(now)

    def _forget(self, now: float) -> None:
        while self._counted and self._counted[0][0] < now - self.window:
            self._counted.popleft()
        for key, judged in list(self._judged.items()):
            while judged and judged[0].at < now - self.window:
                judged.popleft()
            if not judged:
                del self._judged[key]

    def rates(self, key: str, backend: str) -> list[Rate]:
        """The backend's answers between each two samples, oldest first."""
        with self._lock:
            counted = list(self._counted)
        return [
            Rate(
                then,
                at,
                by.get(key, {})
                .get(backend, Tally())
                .since(before.get(key, {}).get(backend, Tally())),
            )
            for (then, before), (at, by) in itertools.pairwise(counted)
        ]

    def recent(self, key: str, backend: str, now: float | None = None) -> Rate | None:
        """The backend's answers over the last RECENT seconds (from the sample nearest that
        long ago); None before two samples."""
        now = time.time() if now is None else now
        with self._lock:
            counted = list(self._counted)
        if len(counted) < 2:
            return None
        last_at, last = counted[-1]
        then, before = counted[0]
        for at, by in counted:
            if at > last_at - RECENT:
                break
            then, before = at, by
        if then >= last_at:
            return None
        tally = last.get(key, {}).get(backend, Tally())
        return Rate(then, last_at, tally.since(before.get(key, {}).get(backend, Tally())))

    def first(self, now: float) -> float:
        """Where the charts begin: the oldest sample kept, or WINDOW ago (whichever is later),
        so a page opened lately shows what it has across its whole width."""
        with self._lock:
            oldest = self._counted[0][0] if self._counted else now - self.window
        return max(oldest, now - self.window)

    def judged(self, key: str) -> list[Judged]:
        """The rollout's findings at each sample, oldest first."""
        with self._lock:
            return list(self._judged.get(key, ()))


class Sampler:
    """Takes the samples every `step` seconds in a daemon thread while the gateway runs (a part
    of its Lifecycle: the runtime starts and stops it), so the series hold the traffic of
    before anyone looked. It reads the store once a tick and never touches the request path."""

    def __init__(self, samples: Samples) -> None:
        self.samples = samples
        self._ticker = Ticker("strangler-dashboard", samples.step, self.tick)

    def start(self) -> None:
        self._ticker.start()

    def stop(self) -> None:
        self._ticker.stop()

    def tick(self, now: float | None = None) -> None:
        """One sample; never raises (a store fault is logged, and the next tick tries again)."""
        try:
            self.samples.take(now)
        except FlagStoreError as exc:
            log.warning("dashboard not sampled this time: %s", exc)
        except Exception:
            log.exception("dashboard not sampled this time")
