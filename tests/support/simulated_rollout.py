"""Rollouts simulated second by second: the judge (strangler.rollout.judge) fed synthetic traffic,
pure, seeded and fast, to measure how often a correct port is rolled back and how soon a broken
one is caught.

The traffic is the worked example's (#25): `rate` requests a second, of which SHARED_ERRORS are
string features that legacy answers 500 and a faithful port answers the same; latencies around
20 ms (log-normal). The conductor's moves are replayed as strangler.rollout.conductor makes them:
a promotion starts a fresh window, a hold judges again one interval later.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
import random

from strangler.metrics.figures import BUCKETS, Tally
from strangler.rollout.judge import Action, Verdict, Window, judge
from strangler.rollout.plan import Plan

SHARED_ERRORS = 0.015  # both apps answer 500 (the worked example's string features)
MEDIAN = 0.020  # seconds
SPREAD = 0.5  # sigma of the latencies' log


@dataclasses.dataclass(frozen=True)
class Port:
    """How the port departs from legacy, on the requests it serves or shadows."""

    errors: float = 0.0  # extra 5xx answers, where legacy answers well
    slowdown: float = 1.0  # every latency times this
    wrong: float = 0.0  # wrong answers (a 200, another body): only a shadow comparison sees them


@dataclasses.dataclass
class Outcome:
    action: Action  # ROLLBACK, COMPLETE, or HOLD when the horizon came first
    seconds: int  # from the start to that verdict
    step: float  # the percentage it ended at
    bad: int  # clients' answers the port got wrong (extra 5xx, wrong bodies, slowed answers)
    verdicts: list[tuple[int, Verdict]]  # every verdict that moved or held the plan


@dataclasses.dataclass
class _Counts:
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    buckets: list[int] = dataclasses.field(default_factory=lambda: [0] * (len(BUCKETS) + 1))

    def add(self, latency: float, error: bool) -> None:
        self.requests += 1
        self.errors += error
        self.seconds += latency
        self.buckets[bisect.bisect_left(BUCKETS, latency)] += 1

    def tally(self) -> Tally:
        return Tally(self.requests, self.errors, self.seconds, tuple(self.buckets))


def simulate(
    plan: Plan,
    port: Port,
    seed: int,
    *,
    rate: float = 20.0,
    shadow: float = 100.0,
    horizon: int = 3600,
) -> Outcome:
    """One rollout of `port` under `plan`, `rate` requests a second, `shadow` % of them also
    compared; judged every second until it completes, is rolled back, or `horizon` seconds."""
    rng = random.Random(seed)
    step, judge_at, reference = 0, plan.interval, None
    migrated, legacy = _Counts(), _Counts()
    compared = mismatched = shared_migrated = shared_legacy = 0
    bad = 0
    verdicts: list[tuple[int, Verdict]] = []
    for second in range(1, horizon + 1):
        share = plan.steps[step]
        for _ in range(_poisson(rng, rate)):
            shared = rng.random() < SHARED_ERRORS
            broken = not shared and rng.random() < port.errors
            wrong = not shared and not broken and rng.random() < port.wrong
            latency = rng.lognormvariate(math.log(MEDIAN), SPREAD)
            on_migrated = rng.random() * 100 < share
            if on_migrated:
                migrated.add(latency * port.slowdown, shared or broken)
                bad += broken or wrong or port.slowdown > 1
            else:
                legacy.add(latency, shared)
            if rng.random() * 100 < shadow:
                compared += 1
                mismatched += broken or wrong
                if shared:
                    shared_migrated += on_migrated
                    shared_legacy += not on_migrated
        window = Window(
            migrated.tally(),
            legacy.tally(),
            compared,
            mismatched,
            shared_migrated,
            shared_legacy,
        )
        verdict = judge(plan, step, window, reference, due=second >= judge_at)
        if verdict.reference is not None:
            reference = verdict.reference
        if verdict.action is Action.WAIT:
            continue
        verdicts.append((second, verdict))
        if verdict.action in (Action.ROLLBACK, Action.COMPLETE):
            return Outcome(verdict.action, second, share, bad, verdicts)
        if verdict.action is Action.HOLD:
            judge_at = second + plan.interval
            continue
        step, judge_at = step + 1, second + plan.interval
        migrated, legacy = _Counts(), _Counts()
        compared = mismatched = shared_migrated = shared_legacy = 0
    return Outcome(Action.HOLD, horizon, plan.steps[step], bad, verdicts)


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: fine for the tens of requests a second simulated here."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count
