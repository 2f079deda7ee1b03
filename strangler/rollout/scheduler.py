"""The schedule runner: applies the flag changes scheduled for now (strangler.flags.schedule),
looked at once a second by the clerk's thread (strangler.rollout.clerk), under a lease in the
store so that one worker of the fleet applies them.
"""

from __future__ import annotations

import logging

from strangler.flags.schedule import Schedule
from strangler.flags.service import FlagService

log = logging.getLogger("strangler.rollout")

LEASE = 5.0  # seconds the lease lasts unless renewed (it is, at each look with a change due)
SCHEDULE_LEASE = "schedule"


class ScheduleRunner:
    """Applies the scheduled changes that are due, in the worker holding the lease."""

    def __init__(self, flags: FlagService, worker: str) -> None:
        self.schedule = Schedule(flags)
        self.store = flags.store
        self.worker = worker  # this worker's name in the store, as it holds leases

    def look(self, now: float) -> None:
        """Applies the changes due at `now`: a read of the store, and the lease only when one
        is due. A store fault is raised (the clerk logs it, and looks again a second later)."""
        due = [change for change in self.schedule.pending() if change.at <= now]
        if not due or not self.store.lease(SCHEDULE_LEASE, self.worker, LEASE):
            return
        for change in self.schedule.apply_due(now):
            log.info("scheduled change %d applied: %s", change.id, change.describe())
