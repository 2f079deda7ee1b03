"""A contract run's time budget: the whole run (`--max-time`) and each fuzzed endpoint
(`--max-endpoint-time`).

The runner asks before each case and each fuzz example whether time is left, and gives each call
to the sides no longer than what is left, so a stuck handler cannot hold the run past its
budget. What the budget leaves out is listed by the run, which is then incomplete (exit 3),
never clean.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable


class OutOfTime(BaseException):
    """Raised inside a fuzz search when its budget ran out. A BaseException, so Hypothesis does
    not take it for a failing example and shrink it, but stops the search at once."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


@dataclasses.dataclass
class Budget:
    """Seconds for the whole run and for each fuzzed endpoint (None: no limit)."""

    max_time: float | None = None
    max_endpoint_time: float | None = None
    clock: Callable[[], float] = time.monotonic
    started: float = dataclasses.field(default=0.0)
    _endpoint_ends: float | None = dataclasses.field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.started = self.started or self.clock()

    @property
    def run_why(self) -> str:
        return f"the run's time budget ({self.max_time:g}s)"

    @property
    def endpoint_why(self) -> str:
        return f"the endpoint's time budget ({self.max_endpoint_time:g}s)"

    def elapsed(self) -> float:
        return self.clock() - self.started

    def run_over(self) -> str | None:
        """Why the run must stop now (its budget is spent), or None."""
        if self.max_time is not None and self.elapsed() >= self.max_time:
            return self.run_why
        return None

    def start_endpoint(self) -> None:
        """Starts the clock of one fuzzed endpoint."""
        if self.max_endpoint_time is None:
            self._endpoint_ends = None
        else:
            self._endpoint_ends = self.clock() + self.max_endpoint_time

    def over(self) -> str | None:
        """Why the current work must stop now (the run's or the endpoint's budget), or None."""
        if (why := self.run_over()) is not None:
            return why
        if self._endpoint_ends is not None and self.clock() >= self._endpoint_ends:
            return self.endpoint_why
        return None

    def call_timeout(self, usual: float) -> float:
        """How long one call to the sides may take: what is left of the budgets (at least a
        moment, so a call at the edge fails as out of time, not as a bug), at most `usual`."""
        ends = [usual]
        if self.max_time is not None:
            ends.append(self.max_time - self.elapsed())
        if self._endpoint_ends is not None:
            ends.append(self._endpoint_ends - self.clock())
        return max(0.01, min(ends))

    def stop_endpoint(self) -> None:
        self._endpoint_ends = None
