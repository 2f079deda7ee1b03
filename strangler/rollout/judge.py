"""The judgment of one rollout step: a pure function of the plan and what was counted.

Each second the conductor hands over the step's window so far (every worker's requests since the
step began, strangler.metrics.figures). The step is:

- rolled back as soon as it breaches a criterion (p99 only from P99_MIN_REQUESTS migrated
  requests on) with `min_requests` migrated requests counted,
  or sooner when its 5xx answers alone already breach the error criterion as if every request
  still to come up to `min_requests` succeeded (no wait for proof already in hand);
- when its interval is over: held (judged again one interval later, counting on) while it has
  fewer than `min_requests` migrated requests, or no shadow comparisons when the plan judges
  them; otherwise promoted to the next step, or completed at the last one.

Legacy's figures come from the same window while it had `min_requests` requests of its own; at
100 % it has none, and the last window that had enough (the rollout's reference) stands in.
"""

from __future__ import annotations

import dataclasses
import enum

from strangler.metrics.figures import Tally, millis, percent
from strangler.rollout.plan import Plan

# p99 differences under this never breach: within one latency bucket the estimate cannot
# tell them apart (strangler.metrics.figures.BUCKETS).
P99_NOISE = 0.005
# Nor is p99 judged on fewer requests than this: it would be the slowest one (a cold start).
P99_MIN_REQUESTS = 100


class Action(enum.StrEnum):
    WAIT = "wait"  # the interval is not over, and nothing breached
    HOLD = "hold"  # too little to judge: judged again after another interval
    PROMOTE = "promote"
    COMPLETE = "complete"  # healthy at the last step
    ROLLBACK = "rollback"


@dataclasses.dataclass(frozen=True)
class Window:
    """What was counted for the endpoint since the step began."""

    migrated: Tally
    legacy: Tally
    compared: int = 0  # shadow comparisons
    mismatched: int = 0


@dataclasses.dataclass(frozen=True)
class Verdict:
    action: Action
    figures: str  # what was measured, as the audit trail and the status say it
    breaches: tuple[str, ...] = ()
    reference: Tally | None = None  # legacy's figures, when this window had enough


def judge(plan: Plan, step: int, window: Window, reference: Tally | None, *, due: bool) -> Verdict:
    """The verdict on step `step` given its `window`; `due`: its interval is over."""
    migrated, legacy = window.migrated, window.legacy
    fresh = legacy if legacy.requests >= plan.min_requests else None
    compared_with = fresh or reference
    figures, breaches, certain = _assess(plan, window, compared_with)
    text = "; ".join(figures)
    if breaches and (migrated.requests >= plan.min_requests or certain):
        return Verdict(Action.ROLLBACK, text, tuple(breaches), fresh)
    if not due:
        return Verdict(Action.WAIT, text, (), fresh)
    if migrated.requests < plan.min_requests:
        held = f"too few migrated requests ({migrated.requests} of {plan.min_requests})"
        return Verdict(Action.HOLD, f"{held}; {text}", (), fresh)
    if plan.criteria.max_mismatch_rate is not None and not window.compared:
        held = "no shadow comparisons to judge (is the endpoint shadowed?)"
        return Verdict(Action.HOLD, f"{held}; {text}", (), fresh)
    last = step == len(plan.steps) - 1
    return Verdict(Action.COMPLETE if last else Action.PROMOTE, text, (), fresh)


def _assess(plan: Plan, window: Window, legacy: Tally | None) -> tuple[list[str], list[str], bool]:
    """The figures, the criteria breached, and whether the error breach is certain already."""
    criteria = plan.criteria
    migrated = window.migrated
    figures, breaches = [], []
    certain = False
    known = legacy.error_rate if legacy is not None else None
    legacy_rate = known if known is not None else 0.0
    legacy_text = percent(known) if known is not None else "no legacy figures (0% taken)"
    rate = migrated.error_rate
    if rate is not None:
        delta = (rate - legacy_rate) * 100
        figures.append(
            f"migrated {migrated.requests} requests, 5xx {percent(rate)} vs legacy {legacy_text}"
            f" ({delta:+.2f} pt, max {criteria.max_error_delta:g} pt)"
        )
        if delta > criteria.max_error_delta:
            breaches.append("5xx rate")
            # As if every request still to come up to min_requests succeeded.
            floor = migrated.errors / max(migrated.requests, plan.min_requests)
            certain = (floor - legacy_rate) * 100 > criteria.max_error_delta
    else:
        figures.append("migrated 0 requests")
    ours = migrated.quantile(0.99)
    theirs = legacy.quantile(0.99) if legacy is not None and legacy.requests else None
    if ours is not None and theirs is not None:
        ratio = ours / theirs if theirs else float("inf")
        judged = migrated.requests >= P99_MIN_REQUESTS
        unjudged = "" if judged else f", not judged under {P99_MIN_REQUESTS} requests"
        figures.append(
            f"p99 {millis(ours)} vs {millis(theirs)} ({ratio:.2f}x,"
            f" max {criteria.max_p99_ratio:g}x{unjudged})"
        )
        breached = ours > criteria.max_p99_ratio * theirs and ours - theirs > P99_NOISE
        if judged and breached:
            breaches.append("p99 latency")
    elif ours is not None:
        figures.append(f"p99 {millis(ours)} (no legacy figures to compare)")
    if criteria.max_mismatch_rate is not None or window.compared:
        mismatch = window.mismatched / window.compared if window.compared else None
        limit = (
            f", max {criteria.max_mismatch_rate:g}%"
            if criteria.max_mismatch_rate is not None
            else ""
        )
        figures.append(
            f"shadow mismatches {window.mismatched} of {window.compared}"
            f" ({percent(mismatch)}{limit})"
        )
        max_rate = criteria.max_mismatch_rate
        if max_rate is not None and mismatch is not None and mismatch * 100 > max_rate:
            breaches.append("shadow mismatches")
    return figures, breaches, certain
