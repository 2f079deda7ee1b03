"""The rollout plan (strangler.rollout.plan): parsing, checks, each step's flag, storage."""

from __future__ import annotations

import bisect
import dataclasses
import json
import math

import pytest

from strangler.flags.model import Flag
from strangler.metrics.figures import BUCKETS, Tally
from strangler.rollout.errors import InvalidPlan
from strangler.rollout.plan import (
    MAX_EVENTS,
    Criteria,
    Plan,
    Rollout,
    State,
    duration_text,
    parse_duration,
    parse_steps,
)
from strangler.types import Mode

STEPS = (1.0, 5.0, 25.0, 50.0, 100.0)
LAST = len(STEPS) - 1


def requests(n: int, at: float, errors: int = 0) -> Tally:
    """`n` requests in the latency bucket holding `at` seconds, `errors` of them 5xx."""
    counts = [0] * (len(BUCKETS) + 1)
    counts[bisect.bisect_left(BUCKETS, at)] = n  # buckets are `le`: the first bound >= at
    return Tally(n, errors, n * at, tuple(counts))


HEALTHY_LEGACY = requests(200, at=0.002, errors=1)  # 0.5 % 5xx, p99 2.485 ms


# --- plan parsing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        ("1,5,25,50,100", (1.0, 5.0, 25.0, 50.0, 100.0)),
        ("1%, 5 %, 100%", (1.0, 5.0, 100.0)),
        ("0.5,100", (0.5, 100.0)),
        ("100", (100.0,)),
    ],
)
def test_parse_steps(text: str, steps: tuple[float, ...]) -> None:
    """Comma-separated percentages, a `%` after each allowed."""
    assert parse_steps(text) == steps


@pytest.mark.parametrize("text", ["", "1,x", "1,,5", "5%%x", "ten"])
def test_parse_steps_refuses_garbage(text: str) -> None:
    """A part that is not a number is refused."""
    with pytest.raises(InvalidPlan, match="is not a percentage"):
        parse_steps(text)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("5m", 300.0),
        ("30s", 30.0),
        ("1h", 3600.0),
        ("1m30s", 90.0),
        ("90", 90.0),
        ("500ms", 0.5),
        ("1.5h", 5400.0),
        (" 2m ", 120.0),
        ("1h 1m 1s", 3661.0),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    """Durations with units, combined, or a bare number of seconds."""
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "   ", "5x", "m", "-5", "5m!", "1e3", "five", "5M", "m5"])
def test_parse_duration_refuses_garbage(text: str) -> None:
    """Anything but numbers with ms/s/m/h is refused."""
    with pytest.raises(InvalidPlan, match="interval"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(90.0, "1m30s"), (300.0, "5m"), (2.5, "2.5s"), (30.0, "30s"), (0.5, "0.5s"), (3600, "60m")],
)
def test_duration_text(seconds: float, text: str) -> None:
    """Seconds under a minute, minutes (and seconds) above."""
    assert duration_text(seconds) == text
    assert parse_duration(text) == pytest.approx(seconds)


# --- plan checks --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "good",
    [
        Plan("e", STEPS, 60.0, 100),
        Plan("e", (100.0,), 1.0, 1),
        Plan("e", (0.01, 50.0), 1.0, 1),
        Plan("e", STEPS, 60.0, 1, Criteria(0.0, 1.0, 0.0)),
        Plan("e", STEPS, 60.0, 1, Criteria(100.0, 1000.0, 100.0)),
    ],
)
def test_check_accepts_a_good_plan(good: Plan) -> None:
    """Boundary values that are allowed pass the check."""
    good.check()


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (Plan("e", (), 60.0, 100), "at least one step"),
        (Plan("e", (5.0, 0.0, 100.0), 60.0, 100), "step 0: "),
        (Plan("e", (-1.0, 100.0), 60.0, 100), "step -1: "),
        (Plan("e", (50.0, 100.5), 60.0, 100), "step 100.5: "),
        (Plan("e", (math.nan, 100.0), 60.0, 100), "step nan: "),
        (Plan("e", (5.0, 5.0, 100.0), 60.0, 100), "larger than the last"),
        (Plan("e", (50.0, 25.0, 100.0), 60.0, 100), "larger than the last"),
        (Plan("e", STEPS, 0.999, 100), "interval 0.999 s"),
        (Plan("e", STEPS, math.inf, 100), "interval inf s"),
        (Plan("e", STEPS, math.nan, 100), "interval nan s"),
        (Plan("e", STEPS, 60.0, 0), "min requests 0"),
        (Plan("e", STEPS, 60.0, 1, Criteria(max_error_delta=-0.1)), "max error delta"),
        (Plan("e", STEPS, 60.0, 1, Criteria(max_error_delta=100.1)), "max error delta"),
        (Plan("e", STEPS, 60.0, 1, Criteria(max_error_delta=math.nan)), "max error delta"),
        (Plan("e", STEPS, 60.0, 1, Criteria(max_p99_ratio=0.99)), "max p99 ratio"),
        (Plan("e", STEPS, 60.0, 1, Criteria(max_p99_ratio=math.inf)), "max p99 ratio"),
        (Plan("e", STEPS, 60.0, 1, Criteria(max_mismatch_rate=-1.0)), "max mismatch rate"),
        (Plan("e", STEPS, 60.0, 1, Criteria(max_mismatch_rate=101.0)), "max mismatch rate"),
        (Plan("e", STEPS, 60.0, 1, Criteria(max_mismatch_rate=math.nan)), "max mismatch rate"),
    ],
)
def test_check_refuses_a_bad_plan(bad: Plan, message: str) -> None:
    """Each rule of the check refuses its value, saying which."""
    with pytest.raises(InvalidPlan, match=message):
        bad.check()


def test_flag_of_each_step() -> None:
    """Canary at the step's percentage; `migrated` at 100 %."""
    steps = Plan("e", STEPS, 60.0, 100)
    assert steps.flag(0) == Flag(Mode.CANARY, 1.0)
    assert steps.flag(3) == Flag(Mode.CANARY, 50.0)
    assert steps.flag(LAST) == Flag(Mode.MIGRATED, 100.0)


# --- stored rollouts ----------------------------------------------------------------------------


def rollout(reference: Tally | None = HEALTHY_LEGACY) -> Rollout:
    return Rollout(
        plan=Plan("POST /predict", STEPS, 300.0, 200, Criteria(2.0, 1.25, 0.5)),
        state=State.PAUSED,
        step=2,
        step_started=1_700_000_000.5,
        judge_at=1_700_000_300.5,
        baseline={
            # binary-exact latencies: to_list keeps seconds to 6 decimals only
            "w1": {"legacy": requests(10, at=0.5), "migrated": requests(3, at=0.25, errors=1)},
            "w2": {"legacy": requests(7, at=20.0)},
        },
        shadow_baseline={"w1": (12, 1, 2, 3), "w2": (0, 0, 0, 0)},
        reference=reference,
        started_by="alice",
        started_at=1_699_999_000.0,
        events=[{"at": 1_699_999_000.0, "what": "started", "detail": "by alice"}],
    )


@pytest.mark.parametrize("reference", [HEALTHY_LEGACY, None])
def test_rollout_json_round_trip(reference: Tally | None) -> None:
    """to_json, through JSON text, and from_json give back the rollout at that revision."""
    original = rollout(reference)
    data = json.loads(json.dumps(original.to_json()))
    assert "revision" not in data
    restored = Rollout.from_json(data, revision=7)
    assert restored == dataclasses.replace(original, revision=7)
    assert restored.percentage == 25.0


def test_a_shadow_baseline_of_two_counts_reads_with_no_shared_errors() -> None:
    """A rollout stored before the shared 5xx were counted reads its baseline with 0 for them."""
    data = json.loads(json.dumps(rollout().to_json()))
    data["shadow_baseline"] = {"w1": [12, 1]}
    assert Rollout.from_json(data, revision=1).shadow_baseline == {"w1": (12, 1, 0, 0)}


def test_note_keeps_the_newest_max_events() -> None:
    """Events past MAX_EVENTS drop the oldest; the newest is last."""
    kept = rollout()
    kept.events.clear()
    for n in range(MAX_EVENTS + 5):
        kept.note("hold", str(n), now=1000.0 + n)
    assert len(kept.events) == MAX_EVENTS
    assert kept.events[0] == {"at": 1005.0, "what": "hold", "detail": "5"}
    assert kept.events[-1]["detail"] == str(MAX_EVENTS + 4)


def test_note_keeps_an_explicit_zero_time() -> None:
    """The time given is the time recorded, zero included."""
    kept = rollout()
    kept.note("hold", "x", now=0.0)
    assert kept.events[-1]["at"] == 0.0
