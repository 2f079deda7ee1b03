"""The rollout judge's verdicts (strangler.rollout.judge); the plan itself is in test_plan.py."""

from __future__ import annotations

import bisect

import pytest

from strangler.metrics.figures import BUCKETS, Tally
from strangler.rollout.judge import P99_NOISE, Action, Window, judge
from strangler.rollout.plan import (
    Criteria,
    Plan,
)

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
    """Enough migrated requests, no breach, interval over: promote."""
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


def test_error_delta_at_the_limit_is_no_breach() -> None:
    """Exactly max_error_delta points more 5xx than legacy is still healthy."""
    window = Window(requests(100, at=0.002, errors=1), requests(100, at=0.002))
    verdict = judge(plan(), 0, window, None, due=True)
    assert verdict.action is Action.PROMOTE
    assert "+1.00 pt" in verdict.figures


# --- rollbacks ----------------------------------------------------------------------------------


@pytest.mark.parametrize("due", [True, False])
def test_error_breach_with_enough_requests_rolls_back(due: bool) -> None:
    """100 requests at 2 ms, 3 of them 5xx, vs legacy's 0.5 %: +2.5 pt breaches at once."""
    window = Window(requests(100, at=0.002, errors=3), HEALTHY_LEGACY)
    verdict = judge(plan(), 2, window, None, due=due)
    assert verdict.action is Action.ROLLBACK
    assert verdict.breaches == ("5xx rate",)
    assert verdict.reference == HEALTHY_LEGACY
    assert verdict.figures == (
        "migrated 100 requests, 5xx 3.00% vs legacy 0.50% (+2.50 pt, max 1 pt);"
        " p99 2.5 ms vs 2.5 ms (1.00x, max 1.5x)"
    )


@pytest.mark.parametrize("due", [True, False])
def test_certain_error_breach_rolls_back_before_min_requests(due: bool) -> None:
    """10 requests, 5 of them 5xx: even if the next 90 succeed it is 5 %, so roll back now."""
    window = Window(requests(10, at=0.002, errors=5), requests(200, at=0.002))
    verdict = judge(plan(), 0, window, None, due=due)
    assert verdict.action is Action.ROLLBACK
    assert verdict.breaches == ("5xx rate",)


@pytest.mark.parametrize(
    ("errors", "action"),
    [
        (1, Action.WAIT),  # 1 of at least 100: +1.00 pt, not above the limit
        (2, Action.ROLLBACK),  # 2 of at least 100: +2.00 pt whatever comes
    ],
)
def test_certainty_assumes_the_rest_up_to_min_requests_succeed(errors: int, action: Action) -> None:
    """With 10 of 100 requests counted, the floor is errors / 100 against the limit."""
    window = Window(requests(10, at=0.002, errors=errors), requests(200, at=0.002))
    assert judge(plan(), 0, window, None, due=False).action is action


def test_certainty_is_judged_against_legacys_rate() -> None:
    """The floor is compared with legacy's rate: 2 of 100 vs legacy's 1.5 % is not certain."""
    legacy = requests(200, at=0.002, errors=3)
    window = Window(requests(10, at=0.002, errors=2), legacy)
    assert judge(plan(), 0, window, None, due=False).action is Action.WAIT


def test_clear_breach_too_few_and_not_certain_waits_then_holds() -> None:
    """20 % 5xx on 5 requests breaches, but 1 of 100 could still be healthy: no rollback yet."""
    window = Window(requests(5, at=0.002, errors=1), requests(200, at=0.002))
    waiting = judge(plan(), 0, window, None, due=False)
    assert waiting.action is Action.WAIT
    assert waiting.breaches == ()
    held = judge(plan(), 0, window, None, due=True)
    assert held.action is Action.HOLD
    assert held.figures.startswith("too few migrated requests (5 of 100); ")


def test_p99_breach_rolls_back() -> None:
    """p99 248.5 ms vs 2.485 ms: over 1.5x and over the noise."""
    window = Window(requests(100, at=0.2), requests(200, at=0.002))
    verdict = judge(plan(), 1, window, None, due=False)
    assert verdict.action is Action.ROLLBACK
    assert verdict.breaches == ("p99 latency",)
    assert "p99 248.5 ms vs 2.5 ms (100.00x, max 1.5x)" in verdict.figures


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


def test_p99_difference_over_the_noise_within_the_ratio_is_no_breach() -> None:
    """497.5 ms vs 248.5 ms is 2x: under a 3x limit it is healthy, however many ms apart."""
    window = Window(requests(100, at=0.3), requests(200, at=0.2))
    assert judge(plan(max_p99_ratio=3.0), 1, window, None, due=True).action is Action.PROMOTE
    assert judge(plan(max_p99_ratio=1.5), 1, window, None, due=True).action is Action.ROLLBACK


def test_p99_breach_with_too_few_requests_holds() -> None:
    """A latency breach is never certain early: too few requests, held when due."""
    window = Window(requests(50, at=0.2), requests(200, at=0.002))
    assert judge(plan(), 1, window, None, due=False).action is Action.WAIT
    assert judge(plan(), 1, window, None, due=True).action is Action.HOLD


def test_every_breach_is_reported() -> None:
    """Errors, latency and mismatches all breached: all three named."""
    window = Window(requests(100, at=0.2, errors=10), requests(200, at=0.002), 50, 10)
    verdict = judge(plan(max_mismatch_rate=5.0), 1, window, None, due=True)
    assert verdict.action is Action.ROLLBACK
    assert verdict.breaches == ("5xx rate", "p99 latency", "shadow mismatches")


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


@pytest.mark.parametrize(
    ("mismatched", "action"),
    [(0, Action.PROMOTE), (2, Action.PROMOTE), (3, Action.ROLLBACK)],
)
def test_mismatch_rate_against_its_limit(mismatched: int, action: Action) -> None:
    """2 of 100 mismatched is at a 2 % limit (healthy); 3 of 100 is over."""
    window = Window(requests(100, at=0.002), HEALTHY_LEGACY, 100, mismatched)
    assert judge(plan(max_mismatch_rate=2.0), 1, window, None, due=True).action is action


def test_mismatches_are_reported_but_not_judged_without_a_limit() -> None:
    """Comparisons made but no max_mismatch_rate: figures only, never a breach."""
    window = Window(requests(100, at=0.002), HEALTHY_LEGACY, 10, 9)
    verdict = judge(plan(), 1, window, None, due=True)
    assert verdict.action is Action.PROMOTE
    assert "shadow mismatches 9 of 10 (90.00%)" in verdict.figures


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
    """10 legacy requests at 50 % 5xx are too few: the 0 % reference judges 3 % a breach."""
    window = Window(requests(100, at=0.002, errors=3), requests(10, at=0.002, errors=5))
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
    window = Window(requests(100, at=0.002, errors=2), requests(5, at=0.002))
    verdict = judge(plan(), 1, window, None, due=True)
    assert verdict.action is Action.ROLLBACK
    assert verdict.breaches == ("5xx rate",)
    assert "no legacy figures (0% taken) (+2.00 pt" in verdict.figures


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
