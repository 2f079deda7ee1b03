"""The schedule runner applies due flag changes in the one worker holding its lease (#25)."""

from __future__ import annotations

from strangler.flags.memory import MemoryFlagStore
from strangler.flags.service import FlagService
from strangler.rollout.scheduler import ScheduleRunner
from tests.flags.conftest import pair_inventory

ITEM = "GET /items/{item_id}"
NOW = 1_900_000_000.0


def test_a_due_change_is_applied_by_the_worker_holding_the_lease_only() -> None:
    """Two workers look at the same due change: the first takes the lease and applies it, the
    second, its lease refused, applies nothing; a change not yet due waits."""
    service = FlagService(MemoryFlagStore(), pair_inventory())
    first, second = ScheduleRunner(service, "w1"), ScheduleRunner(service, "w2")
    first.schedule.add(ITEM, "canary", 10, NOW + 60, actor="ann", reason="morning")
    later = first.schedule.add(ITEM, "migrated", None, NOW + 600, actor="ann", reason="all")
    second.look(NOW)  # nothing due: the lease is not even asked for
    first.look(NOW + 61)
    assert [c.id for c in first.schedule.pending()] == [later.id]
    second.look(NOW + 601)  # the lease is still w1's
    assert [c.id for c in second.schedule.pending()] == [later.id]
    assert [entry.after.describe() for entry in service.history(ITEM)] == ["canary 10%"]
