"""Every flag store behaves alike (the protocol of strangler.flags.store): in memory, SQLite, Redis.

What only the SQLite store does is in test_sqlite.py, only the Redis one in test_redis.py.
"""

from __future__ import annotations

import threading
import time

import pytest

from strangler.flags.errors import InvalidFlag
from strangler.flags.model import MAX_TEXT, Flag
from strangler.flags.store import FlagStore
from strangler.types import Mode


def test_new_store_is_empty_at_version_zero(store: FlagStore) -> None:
    """A fresh store has no flags and version 0."""
    assert store.version() == 0
    assert dict(store.snapshot().flags) == {}


def test_every_change_bumps_the_version_and_lands_in_the_snapshot(store: FlagStore) -> None:
    """Setting flags bumps the version once per change; the snapshot holds the latest flags."""
    store.set("GET /a", Flag.build("canary", 25), actor="ann", reason="try")
    store.set("GET /a", Flag.build("migrated"), actor="ann", reason="go")
    store.set("GET /b", Flag.build("legacy"), actor="bob", reason="hold")
    snapshot = store.snapshot()
    assert store.version() == snapshot.version == 3
    assert snapshot.flags == {"GET /a": Flag(Mode.MIGRATED, 100.0), "GET /b": Flag(Mode.LEGACY)}


def test_audit_trail_records_who_when_before_after_and_why(store: FlagStore) -> None:
    """Each change is recorded with actor, time, old and new flag and reason, newest first."""
    store.set("GET /a", Flag.build("canary", 25), actor="ann", reason="try")
    store.set("GET /a", Flag.build("migrated"), actor="bob", reason="looks good")
    store.set("GET /b", Flag.build("migrated"), actor="bob", reason="other")
    newest, oldest = store.history("GET /a")
    assert (newest.actor, newest.reason, newest.version) == ("bob", "looks good", 2)
    assert newest.before == Flag(Mode.CANARY, 25.0)
    assert newest.after == Flag(Mode.MIGRATED, 100.0)
    assert oldest.before is None
    assert newest.at.endswith("+00:00")
    assert [e.endpoint for e in store.history()] == ["GET /b", "GET /a", "GET /a"]
    assert len(store.history(limit=1)) == 1


def test_a_lease_is_held_by_one_holder_until_it_runs_out(store: FlagStore) -> None:
    """One holder at a time; the holder renews; another takes it only once it has run out."""
    assert store.lease("rollout GET /a", "worker-1", 0.3)
    assert not store.lease("rollout GET /a", "worker-2", 0.3)
    assert store.lease("rollout GET /a", "worker-1", 0.3)  # renewed
    assert store.lease("rollout GET /b", "worker-2", 0.3)  # another lease is another matter
    time.sleep(0.4)  # the lease runs out: time passing is what is tested
    assert store.lease("rollout GET /a", "worker-2", 0.3)
    assert not store.lease("rollout GET /a", "worker-1", 0.3)


def test_a_rollout_is_written_only_at_the_revision_it_was_read_at(store: FlagStore) -> None:
    """Compare-and-set: a writer that read an older revision is refused, and writes nothing."""
    assert store.rollouts() == {}
    assert store.save_rollout("GET /a", '{"v": 1}', 0)
    assert not store.save_rollout("GET /a", '{"v": "lost"}', 0)  # someone else created it
    assert store.save_rollout("GET /a", '{"v": 2}', 1)
    assert not store.save_rollout("GET /a", '{"v": "stale"}', 1)
    assert store.rollouts() == {"GET /a": (2, '{"v": 2}')}


@pytest.mark.parametrize(
    ("flag", "actor", "reason"),
    [
        (Flag.build("migrated"), "ann", "x" * (MAX_TEXT + 1)),
        (Flag.build("migrated"), "a" * (MAX_TEXT + 1), "go"),
        (Flag(Mode.CANARY, 500.0), "ann", "go"),
        (Flag(Mode.MIGRATED, 100.0, shadow=1e9), "ann", "go"),
    ],
    ids=["long-reason", "long-actor", "percentage-500", "shadow-1e9"],
)
def test_a_store_refuses_a_change_the_api_would_refuse(
    store: FlagStore, flag: Flag, actor: str, reason: str
) -> None:
    """A long reason or actor, or a flag out of range, is refused by the store itself, and
    nothing is written (#22: 9 MB reasons made a 189 MB store)."""
    with pytest.raises(InvalidFlag):
        store.set("GET /a", flag, actor=actor, reason=reason)
    assert store.version() == 0
    assert store.history() == []


def test_findings_are_kept_replaced_and_removed_per_endpoint(store: FlagStore) -> None:
    """Shadow findings are kept per endpoint, replaced by an update, and removed by None."""
    assert store.findings() == {}
    assert store.update_findings("GET /a", lambda old: '{"n": 1}') == '{"n": 1}'
    store.update_findings("GET /b", lambda old: '{"n": 9}')
    seen: list[str | None] = []
    store.update_findings("GET /a", lambda old: seen.append(old) or '{"n": 2}')
    assert seen[-1] == '{"n": 1}'
    assert store.findings() == {"GET /a": '{"n": 2}', "GET /b": '{"n": 9}'}
    assert store.update_findings("GET /b", lambda old: None) is None
    assert store.findings() == {"GET /a": '{"n": 2}'}


def test_findings_updated_from_many_threads_at_once_lose_nothing(store: FlagStore) -> None:
    """Updates of one endpoint's findings from several threads at once are each applied (#23)."""

    def add_one(old: str | None) -> str:
        return str(int(old or 0) + 1)

    def fold() -> None:
        for _ in range(25):
            store.update_findings("GET /a", add_one)

    threads = [threading.Thread(target=fold) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert store.findings() == {"GET /a": "100"}


def test_a_flag_with_segments_round_trips_through_the_store_and_its_audit(
    store: FlagStore,
) -> None:
    """Segments are kept in order with the flag, read back in the snapshot, and the audit trail
    shows them before and after a change (issue #25, item 4)."""
    specs = ["header:X-Tenant=acme->migrated", "claim:role=internal->migrated"]
    flag = Flag.build("canary", 10).with_segments(specs)
    store.set("GET /a", flag, actor="ann", reason="tenant first")
    assert store.snapshot().flags["GET /a"] == flag
    assert [str(s) for s in store.snapshot().flags["GET /a"].segments] == [
        "header:x-tenant=acme->migrated",
        "claim:role=internal->migrated",
    ]
    store.set("GET /a", Flag.build("legacy"), actor="bob", reason="back")
    newest, oldest = store.history("GET /a")
    assert (oldest.after, newest.before, newest.after) == (flag, flag, Flag(Mode.LEGACY))
    assert newest.to_dict()["before"]["segments"] == [str(s) for s in flag.segments]
    assert "segments" not in newest.to_dict()["after"]


def test_a_forgotten_reader_is_no_longer_counted(store: FlagStore) -> None:
    """A worker that says goodbye leaves the readers at once, not after their 10 s window (#25)."""
    store.note_reader("w1", 1)
    store.note_reader("w2", 1)
    store.forget_reader("w1")
    store.forget_reader("never-seen")  # harmless
    assert store.readers(10) == {"w2": 1}
