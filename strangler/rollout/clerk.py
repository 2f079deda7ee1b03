"""The clerk: in every gateway worker, a thread that once a second tells what happened (the
events of strangler.rollout.events: counted in the metrics, posted to the webhooks) and has the
schedule runner (strangler.rollout.scheduler) apply the flag changes scheduled for now. Each job
runs under a lease of its own in the store, so one worker of the fleet does it; the events'
cursor is kept in the store too, so a worker that takes the lease over goes on where the last
one stopped.

The cursor moves on when an event is queued for the webhooks, not when it is posted: stopping
gives the queue a few seconds (strangler.rollout.notify), but an event queued when a worker is
killed is never posted. Events are told at most once across restarts.
"""

from __future__ import annotations

import logging
import time

from strangler.flags.errors import FlagStoreError
from strangler.flags.service import FlagService
from strangler.rollout.events import Cursor, EventCounter, EventFollower
from strangler.rollout.notify import Notifier
from strangler.rollout.scheduler import ScheduleRunner
from strangler.serving.ticker import Ticker

log = logging.getLogger("strangler.rollout")

TICK = 1.0  # seconds between looks
LEASE = 5.0  # seconds a lease lasts unless renewed (it is, every tick)
EVENTS_LEASE = "events"
CURSOR_KIND = "events-cursor"  # published under CURSOR_OWNER: where the fleet's telling is
CURSOR_OWNER = "strangler-events"
CURSOR_KEPT = 600.0  # seconds between writes of an unchanged cursor (the store forgets in 3600)


class Clerk:
    """Tells every event once in the fleet, and runs the schedule (see the module)."""

    def __init__(
        self,
        flags: FlagService,
        worker: str,
        *,
        notifier: Notifier | None = None,
        counter: EventCounter | None = None,
    ) -> None:
        self.store = flags.store
        self.worker = worker  # this worker's name in the store, as it holds leases
        self.notifier = notifier
        self.counter = counter or EventCounter()
        self.follower: EventFollower | None = None  # while this worker holds the lease
        self.runner = ScheduleRunner(flags, worker)
        self._cursor_saved = ("", 0.0)
        self._ticker = Ticker("strangler-clerk", TICK, self.tick)

    def start(self) -> None:
        if self.notifier is not None:
            self.notifier.start()
        self._ticker.start()

    def stop(self) -> None:
        self._ticker.stop()
        if self.notifier is not None:
            self.notifier.stop()

    def tick(self, now: float | None = None) -> None:
        """One look; never raises (a store fault is logged, and the next tick tries again)."""
        at = now if now is not None else time.time()
        for job, what in ((self.runner.look, "scheduled changes"), (self._tell, "events")):
            try:
                job(at)
            except FlagStoreError as exc:
                log.warning("%s not looked at this second: %s", what, exc)
            except Exception:
                log.exception("%s not looked at this second", what)

    def _tell(self, now: float) -> None:
        if not self.store.lease(EVENTS_LEASE, self.worker, LEASE):
            self.follower = None  # another worker tells; take its cursor when this one takes over
            return
        if self.follower is None:
            kept = self.store.published(CURSOR_KIND, 3600).get(CURSOR_OWNER)
            self.follower = EventFollower(self.store, Cursor.from_json(kept) if kept else None)
        for event in self.follower.poll():
            self.counter.count(event)
            if self.notifier is not None and not event.quiet:
                self.notifier.send(event)
        cursor = self.follower.cursor
        if cursor is not None:
            text = cursor.to_json()
            if text != self._cursor_saved[0] or now - self._cursor_saved[1] > CURSOR_KEPT:
                self.store.publish(CURSOR_OWNER, CURSOR_KIND, text)
                self._cursor_saved = (text, now)
