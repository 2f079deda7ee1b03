"""The rollout judge's verdicts (strangler.rollout.judge); the plan itself is in test_plan.py."""

from __future__ import annotations

import bisect

import pytest

from strangler.metrics.figures import BUCKETS, Tally
from strangler.rollout.judge import P99_NOISE, Action, Health, Window, judge, slower_than
from strangler.rollout.plan import Criteria, Plan

STEPS = (1.0, 5.0, 25.0, 50.0, 100.0)
LAST = len(STEPS) - 1


def requests(n: int, at: float, errors: int = 0) -> Tally:
    """`n` requests in the latency bucket holding `at` seconds, `errors` of them 5xx."""
    counts = [0] * (len(BUCKETS) + 1)
    counts[bisect.bisect_left(BUCKETS, at)] = n  # buckets are `le`: the first bound >= at
    return Tally(n, errors, n * at, tuple(counts))


def plan(
    min_requests: int = 100, *, max_p99_ratio: float = 1.5, max_mismatch_rate: float | None = None
) -> Plan:
    """Steps 1..100 %, a minute each, at most 1 pt more 5xx than legacy."""
    criteria = Criteria(1.0, max_p99_ratio, max_mismatch_rate)
    return Plan("POST /predict", STEPS, 60.0, min_requests, criteria)


HEALTHY_LEGACY = requests(200, at=0.002, errors=1)  # 0.5 % 5xx, p99 2.485 ms


# --- healthy steps ------------------------------------------------------------------------------


def test_healthy_step_due_is_promoted() -> None:
    """Enough migrated requests, nothing over a max, interval over: promote."""
    window = Window(requests(100, at=0.002, errors=1), HEALTHY_LEGACY)
    verdict = judge(plan(), 1, window, None, due=True)
    assert verdict.action is Action.PROMOTE
    assert verdict.breaches == ()
    assert verdict.reference == HEALTHY_LEGACY


def test_healthy_last_step_completes() -> None:
    """Healthy at the last step: complete, not promote."""
    window = Window(requests(100, at=0.002), HEALTHY_LEGACY)
    assert judge(plan(), LAST, window, None, due=True).action is Action.COMPLETE
    assert judge(plan(), LAST - 1, window, None, due=True).action is Action.PROMOTE


def test_healthy_step_not_due_waits() -> None:
    """Interval not over and nothing breached: wait, still reporting the fresh legacy tally."""
    window = Window(requests(100, at=0.002), HEALTHY_LEGACY)
    verdict = judge(plan(), 1, window, None, due=False)
    assert verdict.action is Action.WAIT
    assert verdict.breaches == ()
    assert verdict.reference == HEALTHY_LEGACY


def test_error_delta_at_the_limit_is_within() -> None:
    """Exactly max_error_delta points more 5xx than legacy is still within."""
    window = Window(requests(100, at=0.002, errors=1), requests(100, at=0.002))
    verdict = judge(plan(), 0, window, None, due=True)
    assert verdict.action is Action.PROMOTE
    assert "+1.00 pt" in verdict.figures


# --- statistics: no rollback on chance (#25) ---------------------------------------------------


@pytest.mark.parametrize("due", [True, False])
def test_one_error_in_a_few_requests_is_no_rollback(due: bool) -> None:
    """#25: 1 of 48 migrated requests 5xx (2.08 %) vs legacy's 1.01 % proves nothing: no
    rollback, and the reason gives the figures, the bounds and the test's verdict."""
    window = Window(requests(48, at=0.002, errors=1), requests(198, at=0.002, errors=2))
    verdict = judge(plan(min_requests=30), 2, window, None, due=due)
    assert verdict.action is (Action.HOLD if due else Action.WAIT)
    assert verdict.breaches == ()
    assert "5xx 2.08% vs legacy 1.01%: +1.07 pt (bounds -" in verdict.figures
    assert "max 1 pt): over the max, not conclusive" in verdict.figures
    if due:
        assert verdict.figures.startswith("inconclusive: 5xx rate over the max")


def test_errors_legacy_gives_to_the_same_requests_do_not_count() -> None:
    """#25: 5xx answers the shadow comparison found legacy giving too are excused: 3 of 100
    migrated 5xx, all three shared, is 0 own errors against legacy's own 0."""
    legacy = requests(300, at=0.002, errors=5)
    shared = Window(requests(100, at=0.002, errors=3), legacy, 400, 0, 3, 5)
    verdict = judge(plan(), 1, shared, None, due=True)
    assert verdict.action is Action.PROMOTE
    assert "(3 also legacy's answer to the same request, not counted)" in verdict.figures
    assert "+0.00 pt" in verdict.figures
    unshared = Window(requests(100, at=0.002, errors=3), requests(300, at=0.002))
    assert judge(plan(), 1, unshared, None, due=True).action is Action.HOLD


@pytest.mark.parametrize("due", [True, False])
def test_conclusive_error_breach_rolls_back_before_min_requests(due: bool) -> None:
    """10 of 30 migrated requests 5xx against legacy's 0 of 2000: conclusive, rolled back at
    once, whatever min_requests and the interval say."""
    window = Window(requests(30, at=0.002, errors=10), requests(2000, at=0.002))
    verdict = judge(plan(), 0, window, None, due=due)
    assert verdict.action is Action.ROLLBACK
    assert verdict.breaches == ("5xx rate",)
    assert ": breached" in verdict.figures


def test_the_max_is_the_minimum_effect() -> None:
    """A port conclusively worse than legacy, but by less than max_error_delta, is never rolled
    back: 0.5 pt more 5xx over 100,000 requests each."""
    window = Window(
        requests(100_000, at=0.002, errors=2000), requests(100_000, at=0.002, errors=1500)
    )
    verdict = judge(plan(), 1, window, None, due=True)
    assert verdict.action is Action.PROMOTE
    assert verdict.findings[0].health is Health.WITHIN


def test_every_breach_is_reported() -> None:
    """Errors, latency and mismatches all conclusively over: all three named."""
    window = Window(requests(500, at=0.2, errors=100), requests(2000, at=0.002), 500, 100)
    verdict = judge(plan(max_mismatch_rate=5.0), 1, window, None, due=True)
    assert verdict.action is Action.ROLLBACK
    assert verdict.breaches == ("5xx rate", "p99 latency", "shadow mismatches")


# --- latency ------------------------------------------------------------------------------------


def test_p99_breach_rolls_back_without_waiting_for_a_request_count() -> None:
    """#25: 50 migrated requests all at 200 ms vs legacy's 2.5 ms p99 is conclusive at once
    (it used to be held, `not judged under 100 requests`)."""
    window = Window(requests(50, at=0.2), requests(200, at=0.002))
    verdict = judge(plan(), 1, window, None, due=False)
    assert verdict.action is Action.ROLLBACK
    assert verdict.breaches == ("p99 latency",)
    assert "p99 248.5 ms vs 2.5 ms (100.00x, max 1.5x): 100.00% of migrated requests" in (
        verdict.figures
    )


def test_one_slow_request_is_no_latency_breach() -> None:
    """A cold start: 1 slow request of 60 is their p99 but proves nothing: promoted when due.
    Of 200 requests, 3 slow ones are over the line (1.5 %) without proof: held."""
    few = Window(requests(59, at=0.002) + requests(1, at=0.2), requests(200, at=0.002))
    assert judge(plan(min_requests=50), 1, few, None, due=False).action is Action.WAIT
    assert judge(plan(min_requests=50), 1, few, None, due=True).action is Action.PROMOTE
    more = Window(requests(197, at=0.002) + requests(3, at=0.2), requests(200, at=0.002))
    verdict = judge(plan(min_requests=50), 1, more, None, due=True)
    assert verdict.action is Action.HOLD
    assert verdict.figures.startswith("inconclusive: p99 latency over the max")


def test_p99_ratio_under_the_noise_is_no_breach() -> None:
    """2.485 ms vs 0.995 ms is 2.5x, but 1.5 ms apart: within P99_NOISE, healthy."""
    migrated, legacy = requests(100, at=0.002), requests(200, at=0.0007)
    ours, theirs = migrated.quantile(0.99), legacy.quantile(0.99)
    assert ours is not None
    assert theirs is not None
    assert ours > 1.5 * theirs
    assert ours - theirs < P99_NOISE
    verdict = judge(plan(), 1, Window(migrated, legacy), None, due=True)
    assert verdict.action is Action.PROMOTE
    assert verdict.breaches == ()


def test_p99_within_the_ratio_is_no_breach() -> None:
    """497.5 ms vs 248.5 ms is 2x: under a 3x limit it is healthy, however many ms apart."""
    window = Window(requests(100, at=0.3), requests(200, at=0.2))
    assert judge(plan(max_p99_ratio=3.0), 1, window, None, due=True).action is Action.PROMOTE
    assert judge(plan(max_p99_ratio=1.5), 1, window, None, due=True).action is Action.ROLLBACK


def test_slower_than_interpolates_within_a_bucket() -> None:
    """Requests in the 5-10 ms bucket: half of them past 7.5 ms, all past 5 ms, none past 10."""
    tally = requests(100, at=0.008)
    assert slower_than(tally, 0.0075) == pytest.approx(50)
    assert slower_than(tally, 0.005) == pytest.approx(100)
    assert slower_than(tally, 0.01) == 0


# --- shadow comparisons -------------------------------------------------------------------------


def test_no_shadow_comparisons_hold_when_mismatches_are_judged() -> None:
    """max_mismatch_rate set and nothing compared: hold, saying why."""
    window = Window(requests(100, at=0.002), HEALTHY_LEGACY)
    verdict = judge(plan(max_mismatch_rate=1.0), 1, window, None, due=True)
    assert verdict.action is Action.HOLD
    assert verdict.figures.startswith("no shadow comparisons to judge")


def test_no_shadow_comparisons_do_not_matter_when_not_judged() -> None:
    """max_mismatch_rate unset: comparisons are not needed to promote."""
    window = Window(requests(100, at=0.002), HEALTHY_LEGACY)
    verdict = judge(plan(), 1, window, None, due=True)
    assert verdict.action is Action.PROMOTE
    assert "shadow" not in verdict.figures


@pytest.mark.parametrize("due", [True, False])
def test_conclusive_mismatches_roll_back_early(due: bool) -> None:
    """#25: 167 of 831 comparisons mismatched against a 1 % max roll back at once, with 39
    migrated requests (it used to hold: `too few migrated requests (39 of 100)`)."""
    window = Window(requests(39, at=0.002), HEALTHY_LEGACY, 831, 167)
    verdict = judge(plan(max_mismatch_rate=1.0), 2, window, None, due=due)
    assert verdict.action is Action.ROLLBACK
    assert verdict.breaches == ("shadow mismatches",)
    assert "shadow mismatches 167 of 831 (20.10%, bounds +" in verdict.figures


@pytest.mark.parametrize(
    ("mismatched", "action"),
    [(0, Action.PROMOTE), (20, Action.PROMOTE), (30, Action.HOLD), (80, Action.ROLLBACK)],
)
def test_mismatch_rate_against_its_limit(mismatched: int, action: Action) -> None:
    """Of 1000 comparisons against a 2 % max: 2 % is within, 3 % over but not conclusive,
    8 % conclusively over."""
    window = Window(requests(100, at=0.002), HEALTHY_LEGACY, 1000, mismatched)
    assert judge(plan(max_mismatch_rate=2.0), 1, window, None, due=True).action is action


def test_mismatches_are_reported_but_not_judged_without_a_limit() -> None:
    """Comparisons made but no max_mismatch_rate: figures only, never a breach."""
    window = Window(requests(100, at=0.002), HEALTHY_LEGACY, 10, 9)
    verdict = judge(plan(), 1, window, None, due=True)
    assert verdict.action is Action.PROMOTE
    assert "shadow mismatches 9 of 10 (90.00%, not judged)" in verdict.figures


# --- the shadow step ----------------------------------------------------------------------------


def shadow_plan(max_mismatch_rate: float | None = None) -> Plan:
    criteria = Criteria(1.0, 1.5, max_mismatch_rate)
    return Plan("POST /predict", (0.0, *STEPS), 60.0, 100, criteria)


def test_shadow_step_is_judged_on_comparisons_alone() -> None:
    """At the shadow step no client is on migrated: 100 clean comparisons promote it."""
    verdict = judge(shadow_plan(), 0, Window(Tally(), HEALTHY_LEGACY, 100, 0), None, due=True)
    assert verdict.action is Action.PROMOTE
    assert (
        verdict.figures
        == "shadow mismatches 0 of 100 (0.00%, bounds +0.00..+5.65%, max 1%): within"
    )


def test_shadow_step_holds_without_enough_comparisons() -> None:
    """Fewer comparisons than min_requests at the shadow step: held, asking if it is shadowed."""
    verdict = judge(shadow_plan(), 0, Window(Tally(), HEALTHY_LEGACY, 20, 0), None, due=True)
    assert verdict.action is Action.HOLD
    assert verdict.figures.startswith("too few shadow comparisons (20 of 100; is the endpoint")


def test_shadow_step_takes_the_error_max_when_mismatches_have_none() -> None:
    """Without max_mismatch_rate the shadow step holds mismatches to max_error_delta (a port
    answering 5xx where legacy does not mismatches); with one, to that."""
    window = Window(Tally(), HEALTHY_LEGACY, 200, 20)
    assert judge(shadow_plan(), 0, window, None, due=False).action is Action.ROLLBACK
    assert judge(shadow_plan(30.0), 0, window, None, due=True).action is Action.PROMOTE


# --- which legacy figures -----------------------------------------------------------------------


def test_legacy_from_the_window_when_it_had_enough() -> None:
    """Legacy at 3 % in this window beats a 0 % reference: migrated's 3.5 % is healthy."""
    legacy = requests(200, at=0.002, errors=6)
    window = Window(requests(200, at=0.002, errors=7), legacy)
    verdict = judge(plan(), 1, window, requests(1000, at=0.002), due=True)
    assert verdict.action is Action.PROMOTE
    assert verdict.reference == legacy


def test_legacy_from_the_window_needs_only_min_requests() -> None:
    """Exactly min_requests legacy requests are enough to be fresh."""
    legacy = requests(100, at=0.002)
    window = Window(requests(100, at=0.002), legacy)
    assert judge(plan(), 1, window, None, due=True).reference == legacy
    assert judge(plan(min_requests=101), 1, window, None, due=True).reference is None


def test_reference_stands_in_when_the_window_has_too_few_legacy_requests() -> None:
    """10 legacy requests at 50 % 5xx are too few: the 0 % reference judges 20 % a breach."""
    window = Window(requests(100, at=0.002, errors=20), requests(10, at=0.002, errors=5))
    verdict = judge(plan(), 4, window, requests(1000, at=0.002), due=True)
    assert verdict.action is Action.ROLLBACK
    assert verdict.breaches == ("5xx rate",)
    assert verdict.reference is None
    assert "vs legacy 0.00%" in verdict.figures


def test_reference_judges_latency_too() -> None:
    """At 100 % legacy has no requests: the reference's p99 is what migrated is held to."""
    window = Window(requests(100, at=0.2), Tally())
    verdict = judge(plan(), LAST, window, requests(1000, at=0.002), due=True)
    assert verdict.action is Action.ROLLBACK
    assert verdict.breaches == ("p99 latency",)


def test_healthy_against_the_reference_completes() -> None:
    """Last step, no legacy traffic, healthy against the reference: complete."""
    window = Window(requests(100, at=0.002, errors=1), Tally())
    verdict = judge(plan(), LAST, window, HEALTHY_LEGACY, due=True)
    assert verdict.action is Action.COMPLETE
    assert verdict.reference is None


def test_no_legacy_figures_take_zero_errors() -> None:
    """No legacy figures and no reference: legacy is taken as 0 % 5xx."""
    window = Window(requests(100, at=0.002, errors=20), requests(5, at=0.002))
    verdict = judge(plan(), 1, window, None, due=True)
    assert verdict.action is Action.ROLLBACK
    assert verdict.breaches == ("5xx rate",)
    assert "vs no legacy figures (0% taken): +20.00 pt" in verdict.figures


def test_no_legacy_figures_do_not_judge_p99() -> None:
    """No legacy figures and no reference: even p99 past 10 s is not judged."""
    window = Window(requests(100, at=20.0, errors=1), Tally())
    verdict = judge(plan(), 1, window, None, due=True)
    assert verdict.action is Action.PROMOTE
    assert verdict.breaches == ()
    assert "p99 10000.0 ms (no legacy figures to compare)" in verdict.figures


@pytest.mark.parametrize(("due", "action"), [(False, Action.WAIT), (True, Action.HOLD)])
def test_no_migrated_requests(due: bool, action: Action) -> None:
    """Nothing migrated yet: nothing to judge, held when due."""
    verdict = judge(plan(), 0, Window(Tally(), HEALTHY_LEGACY), None, due=due)
    assert verdict.action is action
    assert "migrated 0 requests" in verdict.figures
    if due:
        assert verdict.figures.startswith("too few migrated requests (0 of 100)")


def test_each_finding_carries_its_figure_bounds_and_max_for_plotting() -> None:
    """Each judged criterion gives its figure, bounds and max as numbers (the dashboard plots
    them over time, #25); an unjudged one gives none."""
    window = Window(requests(39, at=0.002), HEALTHY_LEGACY, 831, 167)
    found = {
        f.name: f for f in judge(plan(max_mismatch_rate=1.0), 2, window, None, due=False).findings
    }
    mismatches = found["shadow mismatches"]
    assert mismatches.value == pytest.approx(167 / 831 * 100)
    assert mismatches.low is not None
    assert mismatches.high is not None
    assert mismatches.low < mismatches.value < mismatches.high
    assert (mismatches.limit, mismatches.unit) == (1.0, "%")
    errors = found["5xx rate"]
    assert (errors.limit, errors.unit) == (1.0, " pt")
    assert errors.value == pytest.approx(-0.5)
    assert found["p99 latency"].limit == 1.0
    unjudged = judge(plan(), 1, Window(Tally(), HEALTHY_LEGACY), None, due=False).findings[0]
    assert unjudged.value is None
