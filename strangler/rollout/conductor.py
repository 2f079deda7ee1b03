"""The conductor: in every gateway worker, a thread that moves running rollouts along and runs
the guard. Each second it reads the rollouts from the flag store; for each one running, the
worker that holds (or takes) its lease in the store judges it from the whole fleet's figures
(strangler.rollout.judge) and makes the move: an audited flag change whose reason carries the
figures. A worker that dies leaves its lease to run out (LEASE seconds) and another takes over:
a rollout's state, baseline included, is in the store, not in the worker.
"""

from __future__ import annotations

import logging
import time

from strangler.flags.errors import FlagStoreError
from strangler.flags.model import FlagSnapshot
from strangler.metrics.fleet import Fleet
from strangler.rollout.guard import Guard
from strangler.rollout.judge import Action, Verdict, judge
from strangler.rollout.plan import Rollout, State, duration_text
from strangler.rollout.service import ROLLOUT_ACTOR, RolloutService
from strangler.serving.ticker import Ticker

log = logging.getLogger("strangler.rollout")

TICK = 1.0  # seconds between looks
LEASE = 5.0  # seconds a judge's lease lasts unless renewed (it is, every tick)
GUARD_LEASE = "guard"
GUARD_ACTOR = "strangler guard"


def _lease(rollout: Rollout) -> str:
    return f"rollout {rollout.plan.endpoint}"


class Conductor:
    """Judges the rollouts whose lease this worker holds, and runs the guard under its own."""

    def __init__(self, rollouts: RolloutService, worker: str, guard: Guard | None = None) -> None:
        self.rollouts = rollouts
        self.store = rollouts.store
        self.worker = worker
        self.guard = guard
        self._ticker = Ticker("strangler-rollouts", TICK, self.tick)

    def start(self) -> None:
        self._ticker.start()

    def stop(self) -> None:
        self._ticker.stop()

    def tick(self, now: float | None = None) -> None:
        """One look; never raises (a store fault is logged, and the next tick tries again)."""
        try:
            self._tick(now if now is not None else time.time())
        except FlagStoreError as exc:
            log.warning("rollouts not judged this second: %s", exc)
        except Exception:
            log.exception("rollouts not judged this second")

    def _tick(self, now: float) -> None:
        running = [r for r in self.rollouts.load().values() if r.state is State.RUNNING]
        if not running and self.guard is None:
            return
        snapshot = self.store.snapshot()
        guarded = self._guarded(snapshot, {r.plan.endpoint for r in running})
        if not running and not guarded:
            return
        mine = [r for r in running if self.store.lease(_lease(r), self.worker, LEASE)]
        guarding = bool(guarded) and self.store.lease(GUARD_LEASE, self.worker, LEASE)
        if not mine and not guarding:
            return  # another worker judges: no need to read the fleet
        fleet = self.rollouts.fleet.read()
        for rollout in mine:
            self._judge(rollout, fleet, now)
        if guarding and self.guard is not None:
            for key in guarded:
                flag = snapshot.flags[key]
                trip = self.guard.check(key, flag, fleet.endpoint(key), now)
                if trip is not None:
                    log.warning("%s: %s", key, trip.reason)
                    self.rollouts.flags.set(key, "legacy", actor=GUARD_ACTOR, reason=trip.reason)
                    self.guard.forget(key)

    def _guarded(self, snapshot: FlagSnapshot, under_rollout: set[str]) -> list[str]:
        if self.guard is None:
            return []
        return [
            key
            for key, flag in snapshot.flags.items()
            if key not in under_rollout and self.guard.watched(key, flag)
        ]

    def _judge(self, rollout: Rollout, fleet: Fleet, now: float) -> None:
        plan = rollout.plan
        changed = self.rollouts.routes_as_planned(rollout)
        if changed is not None:  # an operator moved the flag by hand: theirs to drive now
            rollout.state = State.PAUSED
            rollout.note(
                "paused",
                f"the flag was changed outside the rollout (now {changed.describe()}, the step"
                f" is {plan.flag(rollout.step).describe()}); resume to go on from this step",
                now,
            )
            self._save(rollout)
            return
        window = self.rollouts.window(rollout, fleet)
        verdict = judge(plan, rollout.step, window, rollout.reference, due=now >= rollout.judge_at)
        if verdict.reference is not None:
            rollout.reference = verdict.reference
        if verdict.action is Action.WAIT:
            return  # nothing to write: the next tick looks again
        moved = verdict.action in (Action.ROLLBACK, Action.PROMOTE)
        if verdict.action is Action.HOLD:
            rollout.judge_at = now + plan.interval
            rollout.note("hold", verdict.figures, now)
        elif verdict.action is Action.ROLLBACK:
            self._roll_back(rollout, verdict, now)
        elif verdict.action is Action.COMPLETE:
            rollout.state = State.COMPLETED
            rollout.note("completed", f"healthy at {rollout.percentage:g}%: {verdict.figures}", now)
        elif self.rollouts.gated(rollout):  # the next step waits for a person's approval
            self.rollouts.await_approval(rollout, verdict.figures, now)
        else:
            self._promote(rollout, verdict, fleet, now)
        if not self._save(rollout) and moved:
            self._settle(plan.endpoint)

    def _promote(self, rollout: Rollout, verdict: Verdict, fleet: Fleet, now: float) -> None:
        plan = rollout.plan
        before, step = rollout.percentage, rollout.step + 1
        reason = (
            f"rollout step {step + 1}/{len(plan.steps)}: {before:g}% -> {plan.steps[step]:g}%,"
            f" healthy over {duration_text(now - rollout.step_started)}: {verdict.figures}"
        )
        self.rollouts.move(rollout, step, ROLLOUT_ACTOR, reason)
        rollout.step = step
        rollout.step_started, rollout.judge_at = now, now + plan.interval
        rollout.baseline = fleet.endpoint(plan.endpoint)
        rollout.shadow_baseline = fleet.shadow_of(plan.endpoint)
        rollout.note("promoted", reason, now)
        log.info("%s: %s", plan.endpoint, reason)

    def _roll_back(self, rollout: Rollout, verdict: Verdict, now: float) -> None:
        plan = rollout.plan
        reason = (
            f"rollout rolled back at {rollout.percentage:g}% after"
            f" {duration_text(now - rollout.step_started)}: {', '.join(verdict.breaches)}"
            f" breached: {verdict.figures}"
        )
        self.rollouts.flags.set(plan.endpoint, "legacy", actor=ROLLOUT_ACTOR, reason=reason)
        rollout.state = State.ROLLED_BACK
        rollout.note("rolled back", reason, now)
        log.warning("%s: %s", plan.endpoint, reason)

    def _save(self, rollout: Rollout) -> bool:
        if self.rollouts.save(rollout):
            return True
        log.info("the rollout of %s changed while it was judged", rollout.plan.endpoint)
        return False  # an operator acted meanwhile: theirs stands

    def _settle(self, endpoint: str) -> None:
        """After a move whose rollout an operator changed meanwhile (paused, aborted), the
        operator's word stands: the flag goes where the rollout now says."""
        rollout = self.rollouts.load().get(endpoint)
        if rollout is None:
            return
        if rollout.state in (State.ABORTED, State.ROLLED_BACK):
            reason = "rollout stopped while it was judged: back to legacy"
            self.rollouts.flags.set(endpoint, "legacy", actor=ROLLOUT_ACTOR, reason=reason)
        elif rollout.state is State.PAUSED:
            reason = "rollout paused while it was judged: back to its step"
            self.rollouts.move(rollout, rollout.step, ROLLOUT_ACTOR, reason)
