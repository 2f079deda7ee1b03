"""Rollouts as operators drive them: start, pause, resume, approve, promote, abort, status. The
admin API and the CLI call this; the conductor (strangler.rollout.conductor) moves running ones
along, and stops before a step the plan gates (`approve_at`) until a person approves it.

A rollout's state is a JSON document in the flag store, written back only at the revision it
was read at, so an operator's pause and a judgment made at the same moment cannot undo each
other: the later writer reads again.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from strangler.flags.errors import InvalidFlag
from strangler.flags.model import Flag
from strangler.flags.service import FlagService
from strangler.metrics.figures import Tally
from strangler.metrics.figures import window as window_of
from strangler.metrics.fleet import Fleet, FleetReader, shadow_since
from strangler.rollout.errors import InvalidPlan, NoRollout, RolloutError
from strangler.rollout.judge import Window, judge
from strangler.rollout.plan import Criteria, Plan, Rollout, State, duration_text, with_shadow_step
from strangler.types import Backend, Mode

log = logging.getLogger("strangler.rollout")

# Who moves a flag when a rollout or the guard does (operators' own moves carry their name).
ROLLOUT_ACTOR = "strangler rollout"


class RolloutService:
    """Operator actions on rollouts, checked against the inventory and the flags."""

    def __init__(self, flags: FlagService, fleet: FleetReader | None = None) -> None:
        self.flags = flags
        self.store = flags.store
        self.fleet = fleet or FleetReader(flags.store)

    # --- reading -------------------------------------------------------------------------------

    def load(self) -> dict[str, Rollout]:
        """Every rollout in the store; one that cannot be read is logged and left out."""
        found = {}
        for endpoint, (revision, doc) in self.store.rollouts().items():
            try:
                found[endpoint] = Rollout.from_json(json.loads(doc), revision)
            except (ValueError, TypeError, KeyError) as exc:
                log.error("the rollout of %s in the store cannot be read: %s", endpoint, exc)
        return found

    def get(self, key: str) -> Rollout:
        endpoint = self.flags.endpoint(key).key
        rollout = self.load().get(endpoint)
        if rollout is None:
            raise NoRollout(f"{endpoint} has no rollout; start one first", endpoint=endpoint)
        return rollout

    def save(self, rollout: Rollout) -> bool:
        """Writes the rollout back at the revision it was read at; False if another wrote it
        since (the caller reads again)."""
        doc = json.dumps(rollout.to_json())
        saved = self.store.save_rollout(rollout.plan.endpoint, doc, rollout.revision)
        if saved:
            rollout.revision += 1
        return saved

    def window(self, rollout: Rollout, fleet: Fleet) -> Window:
        """What was counted for the rollout's endpoint since its step began."""
        key = rollout.plan.endpoint
        counted = window_of(fleet.endpoint(key), rollout.baseline)
        shadow = shadow_since(fleet.shadow_of(key), rollout.shadow_baseline)
        return Window(
            counted.get(Backend.MIGRATED.value, Tally()),
            counted.get(Backend.LEGACY.value, Tally()),
            *shadow,
        )

    def status(self, key: str | None = None) -> list[dict[str, Any]]:
        """Every rollout (or one), with the figures of its current step so far."""
        rollouts = [self.get(key)] if key else list(self.load().values())
        fleet = self.fleet.try_read()
        now = time.time()
        return [self.describe(rollout, fleet, now) for rollout in rollouts]

    def describe(self, rollout: Rollout, fleet: Fleet | None, now: float) -> dict[str, Any]:
        plan = rollout.plan
        data = rollout.to_json()
        del data["baseline"], data["shadow_baseline"], data["reference"]  # the judge's own
        data["percentage"] = rollout.percentage
        data["plan"] = plan.describe()
        if rollout.state is State.RUNNING:
            data["judged_in"] = max(0.0, rollout.judge_at - now)
        following = rollout.step + 1
        data["next_step"] = plan.steps[following] if following < len(plan.steps) else None
        data["next_gated"] = self.gated(rollout)  # the next step waits for an approval
        if fleet is not None and rollout.state.active:
            window = self.window(rollout, fleet)
            due = rollout.state is State.RUNNING and now >= rollout.judge_at
            verdict = judge(plan, rollout.step, window, rollout.reference, due=due)
            data["figures"] = verdict.figures
            data["workers"] = len(fleet.totals)
        return data

    # --- operator actions ----------------------------------------------------------------------

    def start(
        self,
        key: str,
        steps: tuple[float, ...],
        interval: float,
        min_requests: int,
        criteria: Criteria,
        *,
        actor: str,
        reason: str,
        approve_at: tuple[float, ...] = (),
        from_start: bool = False,
    ) -> Rollout:
        """Starts a rollout: the endpoint goes to the first step now (an audited change).
        Refused (RolloutError) if that step sends less to migrated than the flag does now,
        unless `from_start`: a rollout never cuts traffic back without being told to."""
        endpoint = self.flags.endpoint(key)
        flag = self.store.snapshot().flags.get(endpoint.key)
        shadowed = flag is not None and flag.mode is Mode.LEGACY and flag.shadow > 0
        steps = with_shadow_step(steps, shadowed)  # judged on shadowing before clients move
        plan = Plan(endpoint.key, steps, interval, min_requests, criteria, approve_at)
        try:
            plan.check()
        except InvalidPlan as exc:
            exc.endpoint = endpoint.key
            raise
        if len(endpoint.backends) != 2:
            raise InvalidPlan(
                f"{endpoint.key} is served by one app only: there is nothing to roll out",
                endpoint=endpoint.key,
            )
        _need_reason(reason, endpoint.key)
        current = self.load().get(endpoint.key)
        if current is not None and current.state.active:
            raise RolloutError(
                f"{endpoint.key} has a rollout {current.state.value} at"
                f" {current.percentage:g}%; abort it first",
                endpoint=endpoint.key,
            )
        if not from_start:
            _refuse_cut_back(self.store.snapshot().flags.get(endpoint.key), plan)
        now = time.time()
        fleet = self.fleet.read()
        rollout = Rollout(
            plan=plan,
            state=State.RUNNING,
            step=0,
            step_started=now,
            judge_at=now + plan.interval,
            baseline=fleet.endpoint(endpoint.key),
            shadow_baseline=fleet.shadow_of(endpoint.key),
            reference=None,
            started_by=actor,
            started_at=now,
            revision=current.revision if current is not None else 0,
        )
        rollout.note("started", f"{plan.describe()}; by {actor}: {reason.strip()}", now)
        self.move(rollout, 0, actor, f"rollout started ({plan.describe()}): {reason.strip()}")
        if not self.save(rollout):
            raise RolloutError(
                f"another rollout of {endpoint.key} was started at the same moment",
                endpoint=endpoint.key,
            )
        return rollout

    def pause(self, key: str, *, actor: str, reason: str) -> Rollout:
        """Stops judging; the flag stays where it is."""
        return self._act(key, "paused", actor, reason, _pause)

    def resume(self, key: str, *, actor: str, reason: str) -> Rollout:
        """Judges again, from a fresh window at the current step (its flag set back to the
        step's, audited, if it was changed meanwhile)."""
        return self._act(key, "resumed", actor, reason, self._resume)

    def approve(self, key: str, *, actor: str, reason: str) -> Rollout:
        """Approves the step the rollout waits at: the endpoint goes to it now (audited)."""
        return self._act(key, "approved", actor, reason, self._approve)

    def promote(self, key: str, *, actor: str, reason: str) -> Rollout:
        """Moves the rollout to its next step now, unjudged (an approval too, if it waits);
        at its last step, marks it completed. It runs on from there."""
        return self._act(key, "promoted", actor, reason, self._promote)

    def abort(self, key: str, *, actor: str, reason: str) -> Rollout:
        """Stops the rollout and sends the endpoint back to legacy (audited)."""
        return self._act(key, "aborted", actor, reason, self._abort)

    def _act(
        self,
        key: str,
        what: str,
        actor: str,
        reason: str,
        change: Callable[[Rollout, str, str], None],
    ) -> Rollout:
        _need_reason(reason, key)
        for _ in range(5):  # another writer got there first: read again
            rollout = self.get(key)
            change(rollout, actor, reason.strip())
            rollout.note(what, f"by {actor}: {reason.strip()}")
            if self.save(rollout):
                return rollout
        raise RolloutError(f"the rollout of {key} kept changing under us; try again", endpoint=key)

    def _resume(self, rollout: Rollout, actor: str, reason: str) -> None:
        if rollout.state is not State.PAUSED:
            raise NoRollout(
                f"the rollout of {rollout.plan.endpoint} is {rollout.state.value}, not paused",
                endpoint=rollout.plan.endpoint,
            )
        now = time.time()
        fleet = self.fleet.read()
        rollout.state = State.RUNNING
        rollout.step_started, rollout.judge_at = now, now + rollout.plan.interval
        rollout.baseline = fleet.endpoint(rollout.plan.endpoint)
        rollout.shadow_baseline = fleet.shadow_of(rollout.plan.endpoint)
        self.move(rollout, rollout.step, actor, f"rollout resumed: {reason}")

    def _approve(self, rollout: Rollout, actor: str, reason: str) -> None:
        if rollout.state is not State.AWAITING_APPROVAL:
            raise NoRollout(
                f"the rollout of {rollout.plan.endpoint} is {rollout.state.value} at"
                f" {rollout.percentage:g}%, not awaiting approval",
                endpoint=rollout.plan.endpoint,
            )
        self._next_step(rollout, actor, f"approved by {actor}: {reason}")

    def _promote(self, rollout: Rollout, actor: str, reason: str) -> None:
        if not rollout.state.active:
            raise NoRollout(
                f"the rollout of {rollout.plan.endpoint} is {rollout.state.value}; start another",
                endpoint=rollout.plan.endpoint,
            )
        if rollout.step + 1 >= len(rollout.plan.steps):
            rollout.state = State.COMPLETED
            self.move(rollout, rollout.step, actor, f"rollout completed by hand: {reason}")
            return
        self._next_step(rollout, actor, f"promoted by {actor}: {reason}")

    def _next_step(self, rollout: Rollout, actor: str, why: str) -> None:
        plan, now = rollout.plan, time.time()
        before, step = rollout.percentage, rollout.step + 1
        fleet = self.fleet.read()
        self.move(
            rollout,
            step,
            actor,
            f"rollout step {step + 1}/{len(plan.steps)}: {before:g}% -> {plan.steps[step]:g}%,"
            f" {why}",
        )
        rollout.state, rollout.step = State.RUNNING, step
        rollout.step_started, rollout.judge_at = now, now + plan.interval
        rollout.baseline = fleet.endpoint(plan.endpoint)
        rollout.shadow_baseline = fleet.shadow_of(plan.endpoint)

    def gated(self, rollout: Rollout) -> bool:
        """Whether the rollout's next step waits for a person's approval (`approve_at`)."""
        following = rollout.step + 1
        steps = rollout.plan.steps
        return following < len(steps) and steps[following] in rollout.plan.approve_at

    def await_approval(self, rollout: Rollout, figures: str, now: float) -> None:
        """The step was judged healthy and the next one is gated: the rollout holds where it
        is (the flag unchanged) until `approve` (or `promote`, or `abort`)."""
        plan = rollout.plan
        following = plan.steps[rollout.step + 1]
        rollout.state = State.AWAITING_APPROVAL
        rollout.note(
            "awaiting approval",
            f"healthy at {rollout.percentage:g}% over"
            f" {duration_text(now - rollout.step_started)}; {following:g}% waits for"
            f" approval (strangler rollout approve {plan.endpoint!r}): {figures}",
            now,
        )
        log.info("%s: rollout awaiting approval before %g%%", plan.endpoint, following)

    def _abort(self, rollout: Rollout, actor: str, reason: str) -> None:
        if not rollout.state.active:
            raise NoRollout(
                f"the rollout of {rollout.plan.endpoint} is {rollout.state.value} already",
                endpoint=rollout.plan.endpoint,
            )
        rollout.state = State.ABORTED
        self.flags.set(
            rollout.plan.endpoint, "legacy", actor=actor, reason=f"rollout aborted: {reason}"
        )

    def move(self, rollout: Rollout, step: int, actor: str, reason: str) -> None:
        """Sets the endpoint's flag to step `step`'s (an audited change; none if it is so)."""
        flag = rollout.plan.flag(step)
        percentage = flag.percentage if flag.mode is Mode.CANARY else None
        self.flags.set(
            rollout.plan.endpoint, flag.mode.value, percentage, actor=actor, reason=reason
        )

    def routes_as_planned(self, rollout: Rollout) -> Flag | None:
        """None if the endpoint's flag routes as the rollout's step says; else the flag."""
        flag = self.store.snapshot().flags.get(rollout.plan.endpoint)
        wanted = rollout.plan.flag(rollout.step)
        if flag is not None and (flag.mode, flag.percentage) == (wanted.mode, wanted.percentage):
            return None
        return flag or Flag(Mode.LEGACY)


def _pause(rollout: Rollout, actor: str, reason: str) -> None:
    if rollout.state is not State.RUNNING:
        raise NoRollout(
            f"the rollout of {rollout.plan.endpoint} is {rollout.state.value}, not running",
            endpoint=rollout.plan.endpoint,
        )
    rollout.state = State.PAUSED


def _refuse_cut_back(flag: Flag | None, plan: Plan) -> None:
    """RolloutError if the plan's first step sends less to migrated than `flag` does now."""
    if flag is None or flag.mode not in (Mode.MIGRATED, Mode.CANARY):
        return
    share = 100.0 if flag.mode is Mode.MIGRATED else flag.percentage
    first = plan.steps[0]
    if share > first:
        raise RolloutError(
            f"{plan.endpoint} sends {share:g}% to migrated now ({flag.describe()}); a rollout"
            f" starting at {first:g}% would cut that back. Give --from-start (API:"
            ' "from_start": true) to do so, or start from where it is (e.g. --steps'
            f" {share:g}{',100' if share < 100 else ''})",
            endpoint=plan.endpoint,
        )


def _need_reason(reason: str, endpoint: str) -> None:
    if not reason.strip():
        raise InvalidFlag(
            "say why: a rollout action needs a reason (it goes in the audit trail)",
            endpoint=endpoint,
        )
