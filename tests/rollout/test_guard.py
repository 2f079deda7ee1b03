"""The guard's judgment (strangler.rollout.guard), fed second by second by hand; the guard in a
gateway, moved by the conductor, is in test_conductor.py."""

from __future__ import annotations

import math

import pytest

from strangler.flags.model import Flag
from strangler.metrics.figures import Tally
from strangler.rollout.bounds import rate_interval
from strangler.rollout.guard import ALPHA, Guard, GuardRule
from strangler.types import Mode

KEY = "GET /predict"
MIGRATED = Flag(Mode.MIGRATED, 100.0)


class Feed:
    """One worker's running migrated totals, `rate` requests a second."""

    def __init__(self, guard: Guard, rate: int = 20) -> None:
        self.guard, self.rate = guard, rate
        self.requests = self.errors = 0
        self.now = 1_000.0

    def second(self, errors: int) -> str | None:
        """One more second with `errors` of its requests 5xx; the trip's reason, if any."""
        self.requests += self.rate
        self.errors += errors
        self.now += 1
        sides = {"w1": {"migrated": Tally(self.requests, self.errors)}}
        trip = self.guard.check(KEY, MIGRATED, sides, self.now)
        return trip.reason if trip is not None else None


def test_a_break_after_a_long_healthy_run_is_caught_on_the_recent_seconds() -> None:
    """#25: after 60 s of clean answers the port fails half its requests: the guard fires within
    a second (10 errors), not once the failures outweigh the minute of good answers."""
    feed = Feed(Guard(GuardRule((KEY,), max_error_rate=5.0, window=60.0, min_requests=20)))
    assert all(feed.second(errors=0) is None for _ in range(60))
    errors_seen = 0
    reason = None
    while reason is None and errors_seen < 30:
        errors_seen += 10
        reason = feed.second(errors=10)
    assert reason is not None, "not caught within 3 s (30 errors)"
    assert reason.startswith("guard: migrated answered 5xx to 50.00% of 20 requests over the")
    assert "(conclusively: at least " in reason
    assert "max 5%); back to legacy" in reason


def test_errors_under_the_max_never_trip() -> None:
    """Legacy's own 1.5 % of 500s (the worked example's string features), on the port for five
    minutes at 20 requests a second: never conclusive against a 5 % max."""
    feed = Feed(Guard(GuardRule((KEY,), max_error_rate=5.0, window=60.0, min_requests=20)))
    pattern = [1 if n % 10 in (0, 3, 7) else 0 for n in range(100)]  # 1.5 % of 20 a second
    assert all(feed.second(errors=pattern[n % 100]) is None for n in range(300))


def test_a_few_errors_in_few_requests_do_not_trip() -> None:
    """3 of 20 requests 5xx (15 %) is not proof of a 5 % max being passed: no trip."""
    feed = Feed(Guard(GuardRule((KEY,), max_error_rate=5.0, window=60.0, min_requests=20)))
    assert feed.second(errors=0) is None
    assert feed.second(errors=3) is None


def test_a_flag_change_starts_a_clean_slate() -> None:
    """Errors before the flag changed are not counted after it."""
    guard = Guard(GuardRule((KEY,), max_error_rate=5.0, window=60.0, min_requests=20))
    failing = {"w1": {"migrated": Tally(100, 50)}}
    guard.check(KEY, Flag(Mode.CANARY, 50.0), {"w1": {"migrated": Tally()}}, 1.0)
    assert guard.check(KEY, Flag(Mode.CANARY, 50.0), failing, 2.0) is not None
    assert guard.check(KEY, MIGRATED, failing, 3.0) is None
    assert guard.check(KEY, MIGRATED, {"w1": {"migrated": Tally(140, 50)}}, 4.0) is None


def false_trip_chance(requests: int, rate: float, max_rate: float) -> float:
    """The chance that one window of `requests` answers, each failing with `rate`, has the lower
    bound of its 5xx share past `max_rate`: one look's false trip (exact binomial tail)."""
    first = next(k for k in range(requests + 1) if rate_interval(k, requests, ALPHA).low > max_rate)

    def term(k: int) -> float:
        ways = math.lgamma(requests + 1) - math.lgamma(k + 1) - math.lgamma(requests - k + 1)
        return math.exp(ways + k * math.log(rate) + (requests - k) * math.log(1 - rate))

    return sum(term(k) for k in range(first, requests + 1))


@pytest.mark.parametrize("requests", [20, 100, 1000])
def test_one_look_at_one_window_trips_falsely_as_rarely_as_the_docs_say(requests: int) -> None:
    """A port failing exactly at the max trips one window's look with a chance under 1e-5 (the
    figure docs/rollouts.md turns into false trips a day), and at half the max under 1e-7."""
    assert false_trip_chance(requests, 0.05, 0.05) < 1e-5
    assert false_trip_chance(requests, 0.025, 0.05) < 1e-7
