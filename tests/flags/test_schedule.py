"""Flag changes scheduled for a time (strangler.flags.schedule), kept by every kind of store and
applied once when due (#25)."""

from __future__ import annotations

import datetime
import json
import math
import time

import pytest

from strangler.flags.errors import FlagStoreUnreachable, InvalidFlag, UnknownEndpoint
from strangler.flags.memory import MemoryFlagStore
from strangler.flags.model import AuditEntry, Flag
from strangler.flags.schedule import Schedule, parse_at
from strangler.flags.service import FlagService
from strangler.flags.store import FlagStore
from tests.flags.conftest import pair_inventory

ITEM = "GET /items/{item_id}"
NOW = 1_800_000_000.0


def test_every_store_keeps_lists_and_drops_scheduled_changes_once(store: FlagStore) -> None:
    """Ids are new each time; a change is dropped by exactly one call."""
    first, second = store.add_schedule('{"a": 1}'), store.add_schedule('{"b": 2}')
    assert first != second
    assert store.schedules() == {first: '{"a": 1}', second: '{"b": 2}'}
    assert store.drop_schedule(first)
    assert not store.drop_schedule(first)
    assert store.schedules() == {second: '{"b": 2}'}
    assert store.add_schedule("{}") not in (first, second)


def test_a_due_change_is_applied_once_audited_by_its_author(store: FlagStore) -> None:
    """A change whose time has come is made by its author, says it was scheduled, and leaves
    the schedule; a later one waits."""
    service = FlagService(store, pair_inventory())
    schedule = Schedule(service)
    schedule.add(ITEM, "canary", 10, NOW + 60, actor="ann", reason="morning traffic")
    schedule.add(ITEM, "migrated", None, NOW + 3600, actor="ann", reason="then all")
    assert schedule.apply_due(NOW + 59) == []
    [applied] = schedule.apply_due(NOW + 61)
    assert applied.percentage == 10
    assert Schedule(service).apply_due(NOW + 62) == []  # applied at most once
    entry = service.history(ITEM)[0]
    assert (entry.actor, entry.after.describe()) == ("ann", "canary 10%")
    assert entry.reason.startswith("morning traffic (scheduled ")
    assert entry.reason.endswith(" for 2027-01-15T08:01:00+00:00)")
    assert [c.mode for c in schedule.pending()] == ["migrated"]


def test_a_change_is_checked_when_scheduled() -> None:
    """An unknown endpoint, a bad mode or no reason is refused at once, nothing kept."""
    from strangler.flags.memory import MemoryFlagStore

    schedule = Schedule(FlagService(MemoryFlagStore(), pair_inventory()))
    with pytest.raises(UnknownEndpoint):
        schedule.add("GET /nope", "migrated", None, NOW, actor="ann", reason="x")
    with pytest.raises(InvalidFlag, match="needs a percentage"):
        schedule.add(ITEM, "canary", None, NOW, actor="ann", reason="x")
    with pytest.raises(InvalidFlag, match="say why"):
        schedule.add(ITEM, "migrated", None, NOW, actor="ann", reason=" ")
    assert schedule.pending() == []


def test_a_cancelled_change_is_never_applied() -> None:
    """Cancel drops a change before its time; cancelling it again says there is none."""
    from strangler.flags.memory import MemoryFlagStore

    service = FlagService(MemoryFlagStore(), pair_inventory())
    schedule = Schedule(service)
    change = schedule.add(ITEM, "migrated", None, NOW + 60, actor="ann", reason="go")
    schedule.cancel(change.id, actor="bob", reason="freeze")
    assert schedule.apply_due(NOW + 120) == []
    assert service.history(ITEM) == []
    with pytest.raises(InvalidFlag, match=f"no scheduled change {change.id}"):
        schedule.cancel(change.id, actor="bob", reason="again")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("+10m", 600), ("+1h30m", 5400), ("+90s", 90), ("2027-01-15T09:00:00+00:00", 3600)],
)
def test_times_are_relative_or_iso(text: str, seconds: float) -> None:
    """`+10m`-style offsets and ISO 8601 times both give the epoch time meant."""
    assert parse_at(text, NOW) == NOW + seconds
    assert datetime.datetime.fromtimestamp(NOW, datetime.UTC).hour == 8


@pytest.mark.parametrize("text", ["soon", "+", "+10x", "2020-01-01T00:00Z"])
def test_a_time_not_to_come_is_refused(text: str) -> None:
    """Words, empty offsets and times past are refused, saying what to give."""
    with pytest.raises(InvalidFlag, match="--at"):
        parse_at(text, NOW)


@pytest.mark.parametrize("at", [-60.0, math.nan, math.inf, 1e300, -1e300])
def test_a_numeric_time_not_to_come_is_refused_when_kept(at: float) -> None:
    """A time past, not finite, or beyond year 9999 is refused by `add`, nothing kept (the API
    and the CLI pass epoch seconds straight to it)."""
    from strangler.flags.memory import MemoryFlagStore

    schedule = Schedule(FlagService(MemoryFlagStore(), pair_inventory()))
    when = time.time() + at if at == -60.0 else at
    with pytest.raises(InvalidFlag, match="give a time to come"):
        schedule.add(ITEM, "migrated", None, when, actor="ann", reason="x")
    assert schedule.pending() == []


def test_an_offset_past_year_9999_is_refused() -> None:
    """`+99999999h` lands after the last year a time can be written in: refused, not kept."""
    with pytest.raises(InvalidFlag, match="give a time to come"):
        parse_at("+99999999h", NOW)


def test_a_change_kept_with_an_unwritable_time_is_still_listed() -> None:
    """A change kept before times were checked, for year 1e300, is listed (so it can be
    cancelled) instead of breaking the listing."""
    from strangler.flags.memory import MemoryFlagStore

    schedule = Schedule(FlagService(MemoryFlagStore(), pair_inventory()))
    kept = schedule.add(ITEM, "migrated", None, NOW + 60, actor="ann", reason="x")
    doc = json.loads(kept.to_json())
    schedule.store.add_schedule(json.dumps({**doc, "at": 1e300}))
    listed = [change.to_dict() for change in schedule.pending()]
    assert [row["at_text"] for row in listed][-1] == "1e+300 (not a time)"


class Faulty(MemoryFlagStore):
    """A memory store whose next `faults` flag writes (and schedule adds, if `adds_fail`) fail
    as a store that went away does."""

    def __init__(self) -> None:
        super().__init__()
        self.faults = 0
        self.adds_fail = False

    def set(self, endpoint: str, flag: Flag, *, actor: str, reason: str) -> AuditEntry:
        if self.faults:
            self.faults -= 1
            raise FlagStoreUnreachable("the store did not answer")
        return super().set(endpoint, flag, actor=actor, reason=reason)

    def add_schedule(self, doc: str) -> int:
        if self.adds_fail:
            raise FlagStoreUnreachable("the store did not answer")
        return super().add_schedule(doc)


def test_a_change_the_store_fails_to_make_is_kept_for_the_next_look() -> None:
    """A store fault while a due change is made puts it back in the schedule, stops that look,
    and the next look makes it."""
    store = Faulty()
    service = FlagService(store, pair_inventory())
    schedule = Schedule(service)
    schedule.add(ITEM, "canary", 10, NOW + 60, actor="ann", reason="morning traffic")
    schedule.add(ITEM, "migrated", None, NOW + 70, actor="ann", reason="then all")
    store.faults = 1
    assert schedule.apply_due(NOW + 80) == []
    assert [c.mode for c in schedule.pending()] == ["canary", "migrated"]
    assert service.history(ITEM) == []
    assert [c.mode for c in schedule.apply_due(NOW + 81)] == ["canary", "migrated"]
    assert service.history(ITEM)[0].after.describe() == "migrated"


def test_a_change_that_cannot_be_put_back_is_logged_whole(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """When the store fails to make the change and to keep it again, the log holds all of it
    (to be made by hand), saying it was lost."""
    store = Faulty()
    schedule = Schedule(FlagService(store, pair_inventory()))
    change = schedule.add(ITEM, "canary", 10, NOW + 60, actor="ann", reason="morning traffic")
    store.faults, store.adds_fail = 1, True
    assert schedule.apply_due(NOW + 80) == []
    assert schedule.pending() == []
    assert f"scheduled change {change.id} lost" in caplog.text
    assert change.to_json() in caplog.text
