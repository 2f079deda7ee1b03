"""The guard: without any plan, an endpoint on migrated (or a canary) whose migrated answers fail
goes back to legacy by itself, audited.

    [tool.strangler]
    guard = ["POST /predict"]     # or ["*"]: every endpoint both apps serve
    guard_max_error_rate = 5.0    # % of its migrated answers that are 5xx...
    guard_window = 60.0           # ...over the last this many seconds...
    guard_min_requests = 20       # ...counting at least this many migrated requests

The guard looks every second at the recent past in several windows ending now (the last 1, 2,
5, 15 and 30 seconds, and `guard_window`), so a port that breaks after running well for long is
caught on its recent answers, not diluted by all the good ones before. It fires when, in one of
them, migrated's 5xx share is over the max *conclusively*: even the lower of its confidence
bounds (strangler.rollout.bounds) is past it, with `guard_min_requests` counted there.

Those bounds hold at every look of one growing sample; a window that slides holds a new sample
every second, so the guarantee is per look, not for the endpoint's life. One look at one window
trips falsely with a chance of at most ALPHA, and far less in fact: for a port whose 5xx share
is exactly the max (5 %), 3e-6 to 1e-5 with 20 to 1,000 requests in the window; at half the max,
under 1e-7 (tests/rollout/test_guard.py computes both). At 86,400 looks a day per window, a port
sitting exactly at the max can so be sent back falsely up to about once a day (the 1 s window's
looks are fresh samples: 0.25 to 0.8 expected a day; the longer windows overlap, so add less);
one well under the max, in practice never.

The windows count only since the endpoint's flag last changed: an endpoint an operator sends
back to migrated after a trip starts with a clean slate. Endpoints under a running rollout are
left to it.
"""

from __future__ import annotations

import collections
import dataclasses
import math

from strangler.errors import ConfigError
from strangler.flags.model import Flag
from strangler.metrics.figures import Tally, percent
from strangler.metrics.figures import window as window_of
from strangler.rollout.bounds import rate_interval
from strangler.types import Backend, Mode

EVERY_ENDPOINT = "*"
STEP = 1.0  # seconds between the guard's looks (the conductor's tick)
# The recent windows looked at besides the rule's own, in seconds: short ones catch a sudden
# break within seconds, longer ones a slow one that short windows have too few requests for.
RECENT = (1.0, 2.0, 5.0, 15.0, 30.0)
# The level of each window's bounds, at each look (the windows slide: see the module for what
# that makes a day): small, as the guard looks at six windows every second while it runs.
ALPHA = 0.001


@dataclasses.dataclass(frozen=True)
class GuardRule:
    endpoints: tuple[str, ...] = ()  # route keys, or "*"
    max_error_rate: float = 5.0  # percent of migrated answers that are 5xx
    window: float = 60.0  # seconds
    min_requests: int = 20

    def check(self) -> None:
        if not (math.isfinite(self.max_error_rate) and 0 <= self.max_error_rate <= 100):
            raise ConfigError(f"guard_max_error_rate = {self.max_error_rate}: give 0 to 100 (%)")
        if not (math.isfinite(self.window) and self.window >= 1):
            raise ConfigError(f"guard_window = {self.window}: give at least 1 (seconds)")
        if self.min_requests < 1:
            raise ConfigError(f"guard_min_requests = {self.min_requests}: give at least 1")

    def covers(self, key: str) -> bool:
        return EVERY_ENDPOINT in self.endpoints or key in self.endpoints


@dataclasses.dataclass(frozen=True)
class Trip:
    endpoint: str
    reason: str  # for the audit trail: the figures


class Guard:
    """Keeps a second-by-second history of migrated's figures per guarded endpoint (in the
    worker holding the guard's lease) and says which endpoints to send back."""

    def __init__(self, rule: GuardRule) -> None:
        self.rule = rule
        # endpoint -> the flag it was watched under, and (time, worker -> migrated tally)
        self._history: dict[
            str, tuple[Flag, collections.deque[tuple[float, dict[str, Tally]]]]
        ] = {}

    def watched(self, key: str, flag: Flag | None) -> bool:
        """Whether the endpoint is guarded and sends requests to migrated under `flag`."""
        if flag is None or not self.rule.covers(key):
            return False
        return flag.mode is Mode.MIGRATED or (flag.mode is Mode.CANARY and flag.percentage > 0)

    def check(
        self, key: str, flag: Flag, sides: dict[str, dict[str, Tally]], now: float
    ) -> Trip | None:
        """Adds the endpoint's figures now (worker -> backend -> tally) and says whether it
        breaches the rule over the window."""
        migrated = {
            worker: {Backend.MIGRATED.value: by[Backend.MIGRATED.value]}
            for worker, by in sides.items()
            if Backend.MIGRATED.value in by
        }
        watched = self._history.get(key)
        routing = (flag.mode, flag.percentage)  # a shadow share changed is no new slate
        stale = watched is not None and bool(watched[1]) and watched[1][-1][0] < now - 2 * STEP
        if watched is None or (watched[0].mode, watched[0].percentage) != routing or stale:
            # A clean slate: the flag changed, or another worker held the guard's lease.
            watched = (flag, collections.deque())
            self._history[key] = watched
        samples = watched[1]
        samples.append((now, {w: by[Backend.MIGRATED.value] for w, by in migrated.items()}))
        while len(samples) > 1 and samples[1][0] <= now - self.rule.window:
            samples.popleft()
        for length in sorted({*(r for r in RECENT if r < self.rule.window), self.rule.window}):
            trip = self._judge(key, migrated, samples, now, length)
            if trip is not None:
                return trip
        return None

    def _judge(
        self,
        key: str,
        migrated: dict[str, dict[str, Tally]],
        samples: collections.deque[tuple[float, dict[str, Tally]]],
        now: float,
        length: float,
    ) -> Trip | None:
        """A trip if migrated's 5xx share over the last `length` seconds (from the latest
        sample at least that old, else the oldest) is conclusively over the max."""
        start_at, start = samples[0]
        for at, tallies in reversed(samples):
            if at <= now - length:
                start_at, start = at, tallies
                break
        counted = window_of(
            migrated, {w: {Backend.MIGRATED.value: t} for w, t in start.items()}
        ).get(Backend.MIGRATED.value, Tally())
        if counted.requests < self.rule.min_requests:
            return None
        bounds = rate_interval(counted.errors, counted.requests, ALPHA)
        if bounds.low * 100 <= self.rule.max_error_rate:
            return None
        return Trip(
            key,
            f"guard: migrated answered 5xx to {percent(counted.error_rate)} of"
            f" {counted.requests} requests over the last {now - start_at:.0f} s (conclusively:"
            f" at least {percent(bounds.low)}, max {self.rule.max_error_rate:g}%);"
            " back to legacy",
        )

    def forget(self, key: str) -> None:
        self._history.pop(key, None)
