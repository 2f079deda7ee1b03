"""The per-worker snapshot: fresh within a poll, last good table when the store fails."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from strangler.flags.errors import FlagStoreError
from strangler.flags.model import Flag, FlagSnapshot
from strangler.flags.service import FlagService
from strangler.flags.store import MemoryFlagStore, open_store
from strangler.flags.watcher import FlagWatcher
from strangler.types import Mode
from tests.flags.conftest import pair_inventory
from tests.support.waiting import wait_until


class BreakableStore(MemoryFlagStore):
    """An in-memory store whose reads can be made to fail, as a corrupted file would."""

    broken = False

    def version(self) -> int:
        if self.broken:
            raise FlagStoreError("disk on fire")
        return super().version()

    def snapshot(self) -> FlagSnapshot:
        if self.broken:
            raise FlagStoreError("disk on fire")
        return super().snapshot()


def test_watcher_picks_up_a_change_from_another_process_within_a_second(tmp_path: Path) -> None:
    """A change written through another connection reaches the polling watcher in under 1 s."""
    watcher = FlagWatcher(open_store(tmp_path / "f.db", create=True), interval=0.05)
    watcher.start()
    try:
        open_store(tmp_path / "f.db").set("GET /a", Flag.build("migrated"), actor="a", reason="r")
        deadline = time.monotonic() + 1.0
        while "GET /a" not in watcher.snapshot.flags and time.monotonic() < deadline:
            time.sleep(0.01)
        assert watcher.snapshot.flags["GET /a"].mode is Mode.MIGRATED
    finally:
        watcher.close()


def test_store_failure_keeps_the_last_good_table_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """When reads fail, the watcher keeps routing by the last good snapshot and reports degraded."""
    store = BreakableStore()
    store.set("GET /a", Flag.build("migrated"), actor="a", reason="r")
    watcher = FlagWatcher(store)
    store.broken = True
    with caplog.at_level(logging.ERROR, logger="strangler.flags"):
        watcher.refresh()
    assert watcher.snapshot.flags["GET /a"].mode is Mode.MIGRATED
    assert watcher.health()["status"] == "degraded"
    assert "disk on fire" in watcher.health()["error"]
    assert "last good table, version 1" in caplog.text
    store.broken = False
    watcher.refresh()
    assert watcher.health()["status"] == "ok"


def test_cold_start_without_a_readable_store_routes_by_defaults(tmp_path: Path) -> None:
    """With no readable store at start, the snapshot is empty (everything legacy) and degraded."""
    bad = tmp_path / "flags.db"
    bad.write_bytes(b"garbage" * 1000)
    watcher = FlagWatcher(open_store(bad))
    assert dict(watcher.snapshot.flags) == {}
    assert watcher.health()["loaded"] is False
    assert watcher.health()["status"] == "degraded"


def test_after_a_fault_the_table_is_read_again_whatever_its_version() -> None:
    """A store back from an outage at a version this worker has seen, with other flags (a
    Redis that lost its last write and took another): the worker reads the table again."""
    from strangler.flags.errors import FlagStoreError
    from strangler.flags.memory import MemoryFlagStore
    from strangler.flags.model import Flag

    class Flaky(MemoryFlagStore):
        down = False

        def version(self) -> int:
            if self.down:
                raise FlagStoreError("the store is away")
            return super().version()

    store = Flaky()
    store.set("GET /a", Flag.build("legacy"), actor="ann", reason="rollback")
    watcher = FlagWatcher(store)
    assert watcher.snapshot.flags["GET /a"] == Flag.build("legacy")
    store.down = True
    watcher.refresh()
    assert watcher.health()["status"] == "degraded"
    store.load(1, {"GET /a": Flag.build("migrated")}, [])  # same version, another table
    store.down = False
    watcher.refresh()
    assert watcher.snapshot.flags["GET /a"] == Flag.build("migrated")
    assert watcher.health()["status"] == "ok"


class HangingStore(MemoryFlagStore):
    """An in-memory store whose reads can be made to hang, as behind another process's lock."""

    def __init__(self) -> None:
        super().__init__()
        self.open = threading.Event()
        self.open.set()

    def version(self) -> int:
        self.open.wait()
        return super().version()


def test_a_read_that_hangs_makes_health_degraded_within_a_bound_then_ok() -> None:
    """While every read hangs (no error, just no answer), health turns degraded once no read
    has succeeded for `stale_after`, keeps the last good table, and is ok again once reads
    answer (#22: health said ok while the store was locked)."""
    store = HangingStore()
    store.set("GET /a", Flag.build("migrated"), actor="a", reason="r")
    watcher = FlagWatcher(store, interval=0.02, stale_after=0.3)
    watcher.start()
    try:
        assert watcher.health()["status"] == "ok"
        store.open.clear()
        started = time.monotonic()
        wait_until(lambda: watcher.health()["status"] == "degraded", what="degraded")
        assert time.monotonic() - started >= 0.25
        assert "no good read of the flag store" in watcher.health()["error"]
        assert watcher.snapshot.flags["GET /a"].mode is Mode.MIGRATED
        store.open.set()
        wait_until(lambda: watcher.health()["status"] == "ok", what="ok again")
    finally:
        store.open.set()
        watcher.close()


def test_a_sqlite_store_locked_by_another_writer_turns_health_degraded(tmp_path: Path) -> None:
    """Another process holding the write lock stalls the worker's poll (its report waits on
    the lock): health says degraded within `stale_after` of the last good poll, then ok once
    the lock is let go (#22: health said ok while the store was locked)."""
    path = tmp_path / "flags.db"
    created = open_store(path, create=True)
    created.version()  # the first use creates it
    created.close()
    watcher = FlagWatcher(open_store(path), interval=0.02, stale_after=0.5)
    watcher.start()
    locker = sqlite3.connect(path, isolation_level=None)
    try:
        wait_until(lambda: watcher.store.readers(10), what="the worker's first report")
        locker.execute("BEGIN EXCLUSIVE")
        wait_until(lambda: watcher.health()["status"] == "degraded", what="degraded")
        assert "no good read of the flag store" in watcher.health()["error"]
        locker.execute("COMMIT")
        wait_until(lambda: watcher.health()["status"] == "ok", what="ok again")
    finally:
        locker.close()
        watcher.close()


def test_a_cleanly_stopped_worker_is_not_said_to_lag_behind_a_change(tmp_path: Path) -> None:
    """Of two workers on one store, one stopped cleanly: the next change is taken by the other
    and nobody is said to lag (#25: a stopped worker counted as live for 10 s)."""
    path = tmp_path / "flags.db"
    writer = open_store(path, create=True)
    writer.version()  # the first use creates it
    workers = [FlagWatcher(open_store(path), interval=0.02) for _ in range(2)]
    for worker in workers:
        worker.start()
    try:
        wait_until(lambda: len(writer.readers(10)) == 2, what="both workers' first reports")
        workers[0].close()
        assert list(writer.readers(10)) == [workers[1].reader]
        service = FlagService(writer, pair_inventory(), follow_wait=10)
        entry = service.set("GET /items/{item_id}", "migrated", actor="ann", reason="go")
        assert entry is not None
        changed = service.changed(entry)
        assert (changed["readers"], changed["lagging"]) == (1, 0)
    finally:
        for worker in workers:
            worker.close()
        writer.close()
