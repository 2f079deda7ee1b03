"""The pure routing decision and sticky canary buckets."""

from __future__ import annotations

import pytest

from strangler.flags.model import Flag
from strangler.routing.decision import BUCKETS, Reason, bucket, decide, side, threshold_of
from strangler.routing.inventory import Endpoint
from strangler.types import Backend, Mode

BOTH = Endpoint("GET", "/x", frozenset(Backend))
LEGACY_ONLY = Endpoint("GET", "/x", frozenset({Backend.LEGACY}))
MIGRATED_ONLY = Endpoint("GET", "/x", frozenset({Backend.MIGRATED}))


def canary(percentage: float) -> Flag:
    return Flag.build("canary", percentage)


@pytest.mark.parametrize(
    ("endpoint", "flag", "backend", "reason"),
    [
        (None, None, Backend.LEGACY, Reason.FALLTHROUGH),
        (BOTH, None, Backend.LEGACY, Reason.DEFAULT),
        (BOTH, Flag(Mode.LEGACY), Backend.LEGACY, Reason.STATIC),
        (BOTH, Flag(Mode.MIGRATED, 100), Backend.MIGRATED, Reason.STATIC),
        (LEGACY_ONLY, Flag(Mode.MIGRATED, 100), Backend.LEGACY, Reason.ONLY_BACKEND),
        (MIGRATED_ONLY, None, Backend.MIGRATED, Reason.ONLY_BACKEND),
    ],
)
def test_decision_follows_endpoint_and_flag(
    endpoint: Endpoint | None, flag: Flag | None, backend: Backend, reason: Reason
) -> None:
    """The backend and the reason follow from the endpoint's apps and its flag."""
    decision = decide(endpoint, flag, 7)
    assert (decision.backend, decision.reason, decision.version) == (backend, reason, 7)


def test_bucket_is_stable_and_in_range() -> None:
    """A caller's bucket is the same every time (not Python's salted hash) and within range."""
    assert bucket("GET /x", "alice") == bucket("GET /x", "alice")
    assert 0 <= bucket("GET /x", "alice") < BUCKETS
    # Pinned: the same value on every worker, machine and Python run.
    assert bucket("POST /predict", "admin") == 1689


def test_canary_sends_its_share_of_ten_thousand_callers_to_migrated() -> None:
    """At 25 %, between 24 % and 26 % of 10,000 distinct callers reach migrated."""
    flag = canary(25)
    migrated = sum(
        decide(BOTH, flag, 1, lambda i=i: f"caller-{i}").backend is Backend.MIGRATED
        for i in range(10_000)
    )
    assert 2_400 <= migrated <= 2_600


def test_canary_raising_percentage_keeps_existing_callers() -> None:
    """Every caller on migrated at 25 % is still there at 50 %, and more join."""
    callers = [f"caller-{i}" for i in range(10_000)]

    def on_migrated(percentage: float) -> set[str]:
        flag = canary(percentage)
        return {
            c for c in callers if decide(BOTH, flag, 1, lambda c=c: c).backend is Backend.MIGRATED
        }

    at_25, at_50 = on_migrated(25), on_migrated(50)
    assert at_25 < at_50
    assert 4_900 <= len(at_50) <= 5_100


def test_canary_resolution_is_a_hundredth_of_a_percent() -> None:
    """0.01 % sends exactly one bucket in 10,000 to migrated."""
    threshold = threshold_of(canary(0.01))
    hits = [b for b in range(BUCKETS) if side(threshold, b) is Backend.MIGRATED]
    assert hits == [0]


def test_canary_without_identifier_uses_a_random_bucket() -> None:
    """A caller with no sticky identifier is split at random, and the reason says so."""
    flag = canary(50)
    decisions = [decide(BOTH, flag, 1) for _ in range(2_000)]
    assert {d.reason for d in decisions} == {Reason.RANDOM}
    share = sum(d.backend is Backend.MIGRATED for d in decisions) / len(decisions)
    assert 0.4 < share < 0.6


@pytest.mark.parametrize(("percentage", "backend"), [(0, Backend.LEGACY), (100, Backend.MIGRATED)])
def test_canary_at_an_end_reads_no_caller(percentage: float, backend: Backend) -> None:
    """Only a split needs the caller: at 0 % and 100 % the identity is never read."""

    def identify() -> str:
        raise AssertionError("the caller's identity was read")

    decision = decide(BOTH, canary(percentage), 3, identify)
    assert (decision.backend, decision.reason) == (backend, Reason.SPLIT)


def test_canary_reads_the_caller_once_for_a_split() -> None:
    """A split reads the caller's identity once, and the same caller lands on the same side."""
    calls: list[str] = []

    def identify() -> str:
        calls.append("alice")
        return "alice"

    first = decide(BOTH, canary(50), 1, identify)
    assert calls == ["alice"]
    assert {decide(BOTH, canary(50), 1, identify).backend for _ in range(20)} == {first.backend}
