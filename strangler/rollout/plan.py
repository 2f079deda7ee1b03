"""A rollout: the plan an operator starts, and its state as the judge moves it along.

    strangler rollout start "POST /predict" --steps 1,5,25,50,100 --interval 5m --min-requests 200

The plan moves the endpoint's canary through `steps` (percentages sent to migrated; 100 is the
flag `migrated`), judging each step after `interval` seconds of traffic (strangler.rollout.judge).
Its state lives in the flag store beside the flags, so any gateway of the fleet can judge it:
whichever holds its lease.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import re
import time
from typing import Any

from strangler.flags.model import Flag
from strangler.metrics.figures import Tally, sides_from_json, sides_to_json
from strangler.metrics.fleet import ShadowCount
from strangler.rollout.errors import InvalidPlan
from strangler.types import Mode

MAX_EVENTS = 50  # kept per rollout: its judgments, newest last
MIN_INTERVAL = 1.0  # seconds: the judge looks every second


class State(enum.StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    AWAITING_APPROVAL = "awaiting_approval"  # judged healthy; the next step waits for a person
    COMPLETED = "completed"  # judged healthy at its last step
    ROLLED_BACK = "rolled_back"  # a step breached the criteria: the endpoint is on legacy
    ABORTED = "aborted"  # an operator stopped it: the endpoint is on legacy

    @property
    def active(self) -> bool:
        return self in (State.RUNNING, State.PAUSED, State.AWAITING_APPROVAL)


@dataclasses.dataclass(frozen=True)
class Criteria:
    """When a step is healthy. Each compares migrated with legacy on the same interval."""

    # Migrated's share of 5xx answers may exceed legacy's by this many percentage points.
    max_error_delta: float = 1.0
    # Migrated's p99 latency may be this many times legacy's (differences under
    # judge.P99_NOISE never count: the histogram's buckets cannot tell them apart).
    max_p99_ratio: float = 1.5
    # Shadow comparisons that mismatched, in percent; None: not judged. When set, a step needs
    # comparisons (the endpoint shadowed) to be promoted.
    max_mismatch_rate: float | None = None

    def check(self) -> None:
        if not (math.isfinite(self.max_error_delta) and 0 <= self.max_error_delta <= 100):
            raise InvalidPlan(f"max error delta {self.max_error_delta}: give 0 to 100 (points)")
        if not (math.isfinite(self.max_p99_ratio) and self.max_p99_ratio >= 1):
            raise InvalidPlan(f"max p99 ratio {self.max_p99_ratio}: give 1 or more")
        rate = self.max_mismatch_rate
        if rate is not None and not (math.isfinite(rate) and 0 <= rate <= 100):
            raise InvalidPlan(f"max mismatch rate {rate}: give 0 to 100 (%)")


@dataclasses.dataclass(frozen=True)
class Plan:
    endpoint: str
    steps: tuple[float, ...]
    interval: float  # seconds of traffic judged per step
    min_requests: int  # migrated requests a step needs before it is promoted
    criteria: Criteria = Criteria()
    # Steps a person approves before the plan moves to them (`--approve-at 50`).
    approve_at: tuple[float, ...] = ()

    def check(self) -> None:
        if not self.steps:
            raise InvalidPlan("give at least one step, e.g. --steps 1,5,25,50,100")
        for index, step in enumerate(self.steps):
            if step == 0 and index == 0:
                continue  # the shadow step: no client moved, judged on shadow comparisons
            if not (math.isfinite(step) and 0 < step <= 100):
                raise InvalidPlan(
                    f"step {step:g}: steps are percentages above 0, up to 100"
                    " (0 only first: the shadow step)"
                )
            if round(step, 2) != step:  # a flag's percentage has 0.01 % steps
                raise InvalidPlan(f"step {step:g}: give percentages in steps of 0.01")
        if any(b <= a for a, b in zip(self.steps, self.steps[1:], strict=False)):
            raise InvalidPlan(f"steps {_steps(self.steps)}: each must be larger than the last")
        if not (math.isfinite(self.interval) and self.interval >= MIN_INTERVAL):
            raise InvalidPlan(f"interval {self.interval:g} s: give at least {MIN_INTERVAL:g} s")
        if self.min_requests < 1:
            raise InvalidPlan(f"min requests {self.min_requests}: give at least 1")
        self.criteria.check()
        for gate in self.approve_at:
            if gate not in self.steps[1:]:
                raise InvalidPlan(
                    f"approve at {gate:g}%: give one of the steps after the first"
                    f" ({_steps(self.steps[1:]) or 'none'}); starting is the first approval"
                )

    def flag(self, step: int) -> Flag:
        """The flag of step `step`: a canary, `migrated` at 100 %, `legacy` at the shadow step
        (0 %: legacy serves; the endpoint's shadow share sends the port its copies)."""
        percentage = self.steps[step]
        if percentage == 0:
            return Flag(Mode.LEGACY)
        return Flag(Mode.MIGRATED, 100.0) if percentage >= 100 else Flag(Mode.CANARY, percentage)

    def describe(self) -> str:
        text = (
            f"steps {_steps(self.steps)}, every {duration_text(self.interval)},"
            f" at least {self.min_requests} migrated requests a step"
        )
        if self.approve_at:
            text += f", approval before {_steps(self.approve_at)}%"
        return text


@dataclasses.dataclass
class Rollout:
    """A plan and where it stands; stored as JSON, written back with its revision."""

    plan: Plan
    state: State
    step: int  # index into plan.steps
    step_started: float  # wall-clock time the step began (or was resumed)
    judge_at: float  # when the step is next judged
    baseline: dict[str, dict[str, Tally]]  # every worker's totals when the step began
    shadow_baseline: dict[str, ShadowCount]  # worker -> its shadow counts then
    reference: Tally | None  # legacy's figures from the last interval that had enough
    started_by: str
    started_at: float
    events: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    revision: int = 0  # the store's revision this was read at (0: never stored)

    @property
    def percentage(self) -> float:
        return self.plan.steps[self.step]

    def note(self, what: str, detail: str, now: float | None = None) -> None:
        """Keeps an event (a judgment, an operator's action) in the rollout's own record."""
        at = now if now is not None else time.time()
        self.events.append({"at": at, "what": what, "detail": detail})
        del self.events[:-MAX_EVENTS]

    def to_json(self) -> dict[str, Any]:
        plan = self.plan
        return {
            "endpoint": plan.endpoint,
            "steps": list(plan.steps),
            "interval": plan.interval,
            "min_requests": plan.min_requests,
            "criteria": dataclasses.asdict(plan.criteria),
            "approve_at": list(plan.approve_at),
            "state": self.state.value,
            "step": self.step,
            "step_started": self.step_started,
            "judge_at": self.judge_at,
            "baseline": sides_to_json(self.baseline),
            "shadow_baseline": {w: list(c) for w, c in self.shadow_baseline.items()},
            "reference": self.reference.to_list() if self.reference else None,
            "started_by": self.started_by,
            "started_at": self.started_at,
            "events": self.events,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], revision: int) -> Rollout:
        plan = Plan(
            str(data["endpoint"]),
            tuple(float(s) for s in data["steps"]),
            float(data["interval"]),
            int(data["min_requests"]),
            Criteria(**data.get("criteria", {})),
            tuple(float(s) for s in data.get("approve_at", ())),
        )
        reference = data.get("reference")
        return cls(
            plan=plan,
            state=State(data["state"]),
            step=int(data["step"]),
            step_started=float(data["step_started"]),
            judge_at=float(data["judge_at"]),
            baseline=sides_from_json(data.get("baseline", {})),
            shadow_baseline={
                # (a baseline written before the shared 5xx were counted has 2: 0 for them)
                w: _shadow_count(c)
                for w, c in data.get("shadow_baseline", {}).items()
            },
            reference=Tally.from_list(reference) if reference else None,
            started_by=str(data.get("started_by", "")),
            started_at=float(data.get("started_at", 0.0)),
            events=list(data.get("events", [])),
            revision=revision,
        )


def _shadow_count(data: Any) -> ShadowCount:
    c, m, a, b = (*(int(x) for x in data), 0, 0, 0, 0)[:4]
    return c, m, a, b


def with_shadow_step(steps: tuple[float, ...], shadowed: bool) -> tuple[float, ...]:
    """The steps with the shadow step (0) first when the endpoint is shadowed: the port is
    judged on its shadow comparisons before any client is moved to it."""
    if shadowed and steps and steps[0] != 0:
        return (0.0, *steps)
    return steps


def parse_steps(text: str) -> tuple[float, ...]:
    """`1,5,25,50,100` (a `%` after each is allowed) into percentages."""
    steps = []
    for part in text.split(","):
        item = part.strip().rstrip("%").strip()
        try:
            steps.append(float(item))
        except ValueError:
            raise InvalidPlan(f"step {part.strip()!r} is not a percentage") from None
    return tuple(steps)


_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(text: str) -> float:
    """`5m`, `30s`, `1h`, `1m30s` or a number of seconds, in seconds."""
    position, total = 0, 0.0
    while position < len(text):
        match = _DURATION.match(text, position)
        if match is None or match.end() == position:
            raise InvalidPlan(f"interval {text!r}: give a duration such as 30s, 5m or 1h")
        total += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if not text.strip():
        raise InvalidPlan("give an interval, such as 30s, 5m or 1h")
    return total


def duration_text(seconds: float) -> str:
    """`90s` -> `1m30s`, `300` -> `5m`, `2.5` -> `2.5s`."""
    if seconds < 60:
        return f"{seconds:.3g}s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest}s" if rest else f"{minutes}m"


def _steps(steps: tuple[float, ...]) -> str:
    return ",".join(f"{s:g}" for s in steps)
