"""The judgment of one rollout step: a pure function of the plan and what was counted.

Each second the conductor hands over the step's window so far (every worker's requests since the
step began, strangler.metrics.figures, and the shadow comparisons). Each criterion is decided
by bounds that hold at every look (strangler.rollout.bounds), so looking every second costs no
false alarms. A criterion is

- **breached** when the port is over its max *conclusively*: even the bound most favourable to
  the port is past the max. The criterion's max is the minimum effect size: a port worse than
  legacy by less is never rolled back, however sure the difference;
- **over** (inconclusive) when the figures are past the max but the bounds still allow a port
  within it: the step is held, judged again one interval later with more requests;
- **within** otherwise.

The step is rolled back as soon as any criterion is breached (5xx rate, latency or shadow
mismatches; no wait for the interval or `min_requests`). When its interval is over it is held
while it has fewer than `min_requests` migrated requests (at a shadow step: comparisons), no
shadow comparisons when the plan judges them, or any criterion over; else promoted to the next
step, or completed at the last one.

5xx answers that legacy gives too, to the same request (a shadow comparison that matched,
both answering 5xx), are not held against the port, on either side: the criterion compares the
errors of each side's own. A shadow step (percentage 0, strangler.rollout.plan) moves no client:
the port is judged on its shadow comparisons alone.

Legacy's figures come from the same window while it had `min_requests` requests of its own; at
100 % it has none, and the last window that had enough (the rollout's reference) stands in.
"""

from __future__ import annotations

import dataclasses
import enum

from strangler.metrics.figures import BUCKETS, Tally, millis, percent
from strangler.rollout.bounds import Interval, rate_interval
from strangler.rollout.plan import Plan

# The chance that a criterion's bounds are wrong at some look during a step: a correct port
# is rolled back at most this often per criterion and step (less: its figures sit well within
# the max, the bounds must cross it). Two rates compared spend half of it each.
ALPHA = 0.01
# p99 differences under this never breach: within one latency bucket the estimate cannot
# tell them apart (strangler.metrics.figures.BUCKETS).
P99_NOISE = 0.005
# Latency is judged by the share of migrated requests slower than max_p99_ratio times legacy's
# p99: a healthy port has at most 1 % there (its p99 is under that line).
TAIL = 0.01
# A p99 needs this many requests to be one (of fewer it is their slowest, a cold start): legacy's
# to be a line to judge against, migrated's to hold a step that is over it but not conclusively.
P99_MIN_REQUESTS = 100


class Action(enum.StrEnum):
    WAIT = "wait"  # the interval is not over, and nothing breached
    HOLD = "hold"  # too little to judge, or inconclusive: judged again after another interval
    PROMOTE = "promote"
    COMPLETE = "complete"  # healthy at the last step
    ROLLBACK = "rollback"


class Health(enum.StrEnum):
    WITHIN = "within"
    OVER = "over the max, not conclusive"
    BREACHED = "breached"
    UNJUDGED = "not judged"


@dataclasses.dataclass(frozen=True)
class Window:
    """What was counted for the endpoint since the step began."""

    migrated: Tally
    legacy: Tally
    compared: int = 0  # shadow comparisons
    mismatched: int = 0
    # 5xx answers of each side that the other side gave too, to the same request (shadowing)
    shared_migrated: int = 0
    shared_legacy: int = 0


@dataclasses.dataclass(frozen=True)
class Finding:
    """One criterion's figures and verdict."""

    name: str
    health: Health
    text: str
    # The figure, its bounds and its max, in `unit` (None while unjudged): for plotting.
    value: float | None = None
    low: float | None = None
    high: float | None = None
    limit: float | None = None
    unit: str = "%"


@dataclasses.dataclass(frozen=True)
class Verdict:
    action: Action
    figures: str  # what was measured and each test's verdict, as the audit trail says it
    breaches: tuple[str, ...] = ()
    reference: Tally | None = None  # legacy's figures, when this window had enough
    findings: tuple[Finding, ...] = ()


def judge(plan: Plan, step: int, window: Window, reference: Tally | None, *, due: bool) -> Verdict:
    """The verdict on step `step` given its `window`; `due`: its interval is over."""
    fresh = window.legacy if window.legacy.requests >= plan.min_requests else None
    shadow_step = plan.steps[step] == 0
    if shadow_step:
        findings = [_mismatches(plan, window, shadow_step=True)]
    else:
        legacy = fresh or reference
        findings = [
            _errors(plan, window, legacy, shared=fresh is not None),
            _latency(plan, window.migrated, legacy),
        ]
        if plan.criteria.max_mismatch_rate is not None or window.compared:
            findings.append(_mismatches(plan, window, shadow_step=False))
    text = "; ".join(f.text for f in findings)
    breaches = tuple(f.name for f in findings if f.health is Health.BREACHED)
    if breaches:
        return Verdict(Action.ROLLBACK, text, breaches, fresh, tuple(findings))
    if not due:
        return Verdict(Action.WAIT, text, (), fresh, tuple(findings))
    held = _held(plan, window, findings, shadow_step)
    if held:
        return Verdict(Action.HOLD, f"{held}; {text}", (), fresh, tuple(findings))
    last = step == len(plan.steps) - 1
    action = Action.COMPLETE if last else Action.PROMOTE
    return Verdict(action, text, (), fresh, tuple(findings))


def _held(plan: Plan, window: Window, findings: list[Finding], shadow_step: bool) -> str:
    """Why a step whose interval is over is held; empty if it is not."""
    if shadow_step:
        if window.compared < plan.min_requests:
            return (
                f"too few shadow comparisons ({window.compared} of {plan.min_requests};"
                " is the endpoint shadowed?)"
            )
    elif window.migrated.requests < plan.min_requests:
        return f"too few migrated requests ({window.migrated.requests} of {plan.min_requests})"
    elif plan.criteria.max_mismatch_rate is not None and not window.compared:
        return "no shadow comparisons to judge (is the endpoint shadowed?)"
    over = [f.name for f in findings if f.health is Health.OVER]
    if over:
        return f"inconclusive: {', '.join(over)} over the max but not conclusively"
    return ""


def _verdict(bounds: Interval, estimate: float, limit: float) -> Health:
    if bounds.low > limit:
        return Health.BREACHED
    return Health.OVER if estimate > limit else Health.WITHIN


def _bounds(bounds: Interval, scale: float, unit: str) -> str:
    return f"bounds {bounds.low * scale:+.2f}..{bounds.high * scale:+.2f}{unit}"


def _errors(plan: Plan, window: Window, legacy: Tally | None, *, shared: bool) -> Finding:
    """5xx: migrated's own errors against legacy's own, in percentage points."""
    name, limit = "5xx rate", plan.criteria.max_error_delta
    migrated = window.migrated
    if not migrated.requests:
        return Finding(name, Health.UNJUDGED, "migrated 0 requests")
    excused = min(window.shared_migrated, migrated.errors)
    own = migrated.errors - excused
    mine = rate_interval(own, migrated.requests, ALPHA / 2)
    text = f"migrated {migrated.requests} requests, 5xx {percent(migrated.error_rate)}"
    if excused:
        text += f" ({excused} also legacy's answer to the same request, not counted)"
    if legacy is not None and legacy.requests:
        theirs_excused = min(window.shared_legacy if shared else 0, legacy.errors)
        theirs_own = legacy.errors - theirs_excused
        theirs = rate_interval(theirs_own, legacy.requests, ALPHA / 2)
        legacy_rate = theirs_own / legacy.requests
        text += f" vs legacy {percent(legacy.error_rate)}"
        if theirs_excused:
            text += f" ({theirs_excused} shared)"
    else:
        theirs, legacy_rate = Interval(0.0, 0.0), 0.0
        text += " vs no legacy figures (0% taken)"
    difference = mine - theirs
    estimate = own / migrated.requests - legacy_rate
    health = _verdict(difference, estimate, limit / 100)
    text += (
        f": {estimate * 100:+.2f} pt ({_bounds(difference, 100, ' pt')}, max {limit:g} pt):"
        f" {health.value}"
    )
    low, high = difference.low * 100, difference.high * 100
    return Finding(name, health, text, estimate * 100, low, high, limit, " pt")


def _latency(plan: Plan, migrated: Tally, legacy: Tally | None) -> Finding:
    """Latency: the share of migrated requests past max_p99_ratio times legacy's p99."""
    name, ratio = "p99 latency", plan.criteria.max_p99_ratio
    ours = migrated.quantile(0.99)
    theirs = legacy.quantile(0.99) if legacy is not None else None
    if ours is None:
        return Finding(name, Health.UNJUDGED, "no migrated latencies")
    if theirs is None or legacy is None or legacy.requests < P99_MIN_REQUESTS:
        return Finding(name, Health.UNJUDGED, f"p99 {millis(ours)} (no legacy figures to compare)")
    line = max(ratio * theirs, theirs + P99_NOISE)
    slow = slower_than(migrated, line)
    share = slow / migrated.requests
    bounds = rate_interval(slow, migrated.requests, ALPHA)
    health = _verdict(bounds, share, TAIL)
    if health is Health.OVER and migrated.requests < P99_MIN_REQUESTS:
        health = Health.WITHIN  # the "p99" of so few is their slowest one: only proof counts
    shown = f"{ours / theirs:.2f}x" if theirs else "legacy 0 ms"
    text = (
        f"p99 {millis(ours)} vs {millis(theirs)} ({shown}, max {ratio:g}x):"
        f" {percent(share)} of migrated requests over {millis(line)}"
        f" ({_bounds(bounds, 100, '%')}, max {TAIL * 100:g}%): {health.value}"
    )
    low, high = bounds.low * 100, bounds.high * 100
    return Finding(name, health, text, share * 100, low, high, TAIL * 100)


def _mismatches(plan: Plan, window: Window, *, shadow_step: bool) -> Finding:
    """Shadow comparisons that mismatched, against max_mismatch_rate (at a shadow step, when
    none is set, max_error_delta: a port answering 5xx where legacy does not mismatches)."""
    name = "shadow mismatches"
    limit = plan.criteria.max_mismatch_rate
    if limit is None and shadow_step:
        limit = plan.criteria.max_error_delta
    compared, mismatched = window.compared, window.mismatched
    text = f"shadow mismatches {mismatched} of {compared}"
    if not compared:
        return Finding(name, Health.UNJUDGED, f"{text} (-)")
    rate = mismatched / compared
    if limit is None:
        return Finding(name, Health.UNJUDGED, f"{text} ({percent(rate)}, not judged)")
    bounds = rate_interval(mismatched, compared, ALPHA)
    health = _verdict(bounds, rate, limit / 100)
    text += f" ({percent(rate)}, {_bounds(bounds, 100, '%')}, max {limit:g}%): {health.value}"
    return Finding(name, health, text, rate * 100, bounds.low * 100, bounds.high * 100, limit)


def slower_than(tally: Tally, line: float) -> float:
    """How many of the tally's requests took longer than `line` seconds, interpolated within
    the bucket holding it as the quantiles are (strangler.metrics.figures.Tally.quantile)."""
    slow = 0.0
    low = 0.0
    for index, count in enumerate(tally.buckets):
        high = BUCKETS[index] if index < len(BUCKETS) else float("inf")
        if low >= line:
            slow += count
        elif high > line and count and index < len(BUCKETS):
            # (past the last bound a request counts as taking that bound, as in quantile)
            slow += count * (high - line) / (high - low)
        low = high
    return slow
