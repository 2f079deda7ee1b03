"""Both flag stores behave alike; the SQLite one also across processes and on a broken file."""

from __future__ import annotations

import multiprocessing
import os
import socket
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from strangler.flags.errors import FlagStoreError, NoInventory
from strangler.flags.inventory import publish_inventory, published_inventory
from strangler.flags.model import Flag
from strangler.flags.sqlite import SQLiteFlagStore
from strangler.flags.store import FlagStore, MemoryFlagStore, open_store
from strangler.routing.inventory import Endpoint, Inventory
from strangler.types import Backend, Mode
from tests.support.redis_server import redis_server


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FlagStore]:
    if request.param == "memory":
        opened: FlagStore = MemoryFlagStore()
    elif request.param == "redis":
        with redis_server(tmp_path) as url:
            opened = open_store(url, create=True)
            yield opened
            opened.close()
        return
    else:
        opened = open_store(tmp_path / "flags.db", create=True)
    yield opened
    opened.close()


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


def test_sqlite_store_is_shared_through_its_file(tmp_path: Path) -> None:
    """A change through one connection is seen by another opened on the same file."""
    writer = open_store(tmp_path / "f.db", create=True)
    writer.version()  # created now
    reader = open_store(tmp_path / "f.db")
    writer.set("GET /a", Flag.build("migrated"), actor="ann", reason="go")
    assert reader.version() == 1
    assert reader.snapshot().flags["GET /a"].mode is Mode.MIGRATED


def _write_many(path: str, worker: int, count: int) -> None:
    store = SQLiteFlagStore(Path(path))
    for i in range(count):
        store.set(
            f"GET /w{worker}", Flag.build("canary", i % 100), actor=f"w{worker}", reason=str(i)
        )
    store.close()


def test_concurrent_writers_in_several_processes_lose_nothing(tmp_path: Path) -> None:
    """Four processes writing 50 changes each: 200 audit entries, version 200, no lock errors."""
    path = str(tmp_path / "flags.db")
    open_store(path, create=True).version()  # the store exists before the race
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_write_many, args=(path, w, 50)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=60)
        assert process.exitcode == 0
    store = open_store(path)
    assert store.version() == 200
    entries = store.history(limit=1000)
    assert len(entries) == 200
    assert sorted(e.version for e in entries) == list(range(1, 201))
    assert len(store.snapshot().flags) == 4


def test_unreadable_store_file_raises_a_store_error(tmp_path: Path) -> None:
    """A file that is not a SQLite database gives FlagStoreError naming the file."""
    path = tmp_path / "flags.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(FlagStoreError, match=r"flags\.db"):
        open_store(path).version()


def test_store_in_an_unwritable_place_raises_a_store_error(tmp_path: Path) -> None:
    """A store path under a regular file cannot be opened, and says so."""
    (tmp_path / "file").write_text("x")
    with pytest.raises(FlagStoreError, match="cannot open"):
        open_store(tmp_path / "file" / "flags.db", create=True).snapshot()


def test_a_store_file_put_back_from_a_copy_of_itself_is_followed(tmp_path: Path) -> None:
    """The same store, copied aside and put back (a restore by hand), is what readers see next."""
    path = tmp_path / "flags.db"
    reader = open_store(path, create=True)
    reader.set("GET /a", Flag.build("migrated"), actor="ops", reason="before the copy")
    open_store(path).backup(tmp_path / "copy.db")
    reader.set("GET /a", Flag.build("legacy"), actor="ops", reason="after the copy")
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"flags.db{suffix}").unlink(missing_ok=True)
    (tmp_path / "copy.db").rename(path)
    assert reader.version() == 1
    assert reader.snapshot().flags["GET /a"].mode is Mode.MIGRATED


def another_store(path: Path) -> None:
    """Makes a second store at `path`, at version 1 like the tests' own."""
    other = open_store(path, create=True)
    other.set("GET /a", Flag.build("legacy"), actor="someone", reason="another store")
    other.close()


def test_a_store_replaced_by_another_is_a_fault_even_at_the_same_version(tmp_path: Path) -> None:
    """Another store at the path (another id) is refused, though its version is the same (#11)."""
    path = tmp_path / "flags.db"
    reader = open_store(path, create=True)
    reader.set("GET /a", Flag.build("migrated"), actor="ops", reason="r")
    another_store(tmp_path / "other.db")
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"flags.db{suffix}").unlink(missing_ok=True)
    (tmp_path / "other.db").rename(path)
    with pytest.raises(FlagStoreError, match="replaced by another store"):
        reader.version()


def test_deleted_store_file_is_a_fault_not_an_empty_table(tmp_path: Path) -> None:
    """Deleting the file makes reads fail (workers keep their last good table), not reset it."""
    reader = open_store(tmp_path / "flags.db", create=True)
    reader.set("GET /a", Flag.build("migrated"), actor="ops", reason="r")
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"flags.db{suffix}").unlink(missing_ok=True)
    with pytest.raises(FlagStoreError, match="deleted"):
        reader.version()
    assert not (tmp_path / "flags.db").exists()


def test_a_read_never_creates_a_store(tmp_path: Path) -> None:
    """Opening a missing store to read it says how to create it, and creates nothing (#11)."""
    with pytest.raises(FlagStoreError, match="strangler flags init"):
        open_store(tmp_path / "flags.db").snapshot()
    assert list(tmp_path.iterdir()) == []


def test_a_store_overwritten_on_disk_is_noticed(tmp_path: Path) -> None:
    """Garbage written over the file under an open connection fails the next check."""
    path = tmp_path / "flags.db"
    store = open_store(path, create=True)
    store.set("GET /a", Flag.build("migrated"), actor="ops", reason="r")
    assert store.version() == 1
    with sqlite3.connect(path) as other:  # the pages leave the WAL for the file itself
        other.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with open(path, "r+b") as file:
        file.write(b"garbage" * 200)
    store._verified_at = 0.0  # the next read checks the file (every VERIFY_EVERY seconds)
    with pytest.raises(FlagStoreError, match=r"not a database|damaged"):
        store.version()


def test_a_sqlite_file_of_something_else_is_not_a_flag_store(tmp_path: Path) -> None:
    """Pointing the store at another application's database says so."""
    with sqlite3.connect(tmp_path / "app.db") as other:
        other.execute("CREATE TABLE users (id INTEGER)")
    with pytest.raises(FlagStoreError, match="not a strangler flag store"):
        open_store(tmp_path / "app.db").version()


def test_another_store_copied_over_the_file_in_place_is_a_fault(tmp_path: Path) -> None:
    """Another store copied over the file keeps its inode: the id still tells them apart."""
    import shutil

    path = tmp_path / "flags.db"
    reader = open_store(path, create=True)
    reader.set("GET /a", Flag.build("migrated"), actor="ops", reason="r")
    another_store(tmp_path / "other.db")
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copyfile(tmp_path / "other.db", path)
    with pytest.raises(FlagStoreError, match="overwritten by another store"):
        reader.version()


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


def pair_inventory() -> Inventory:
    """Three endpoints: one on both apps, one on each."""
    both, legacy, migrated = (
        frozenset(Backend),
        frozenset({Backend.LEGACY}),
        frozenset({Backend.MIGRATED}),
    )
    return Inventory(
        [
            Endpoint("GET", "/items/{item_id}", both),
            Endpoint("POST", "/orders", legacy),
            Endpoint("GET", "/docs", migrated),
        ]
    )


def test_the_endpoints_published_are_read_back_as_an_inventory(store: FlagStore) -> None:
    """The inventory a gateway publishes reads back with the same endpoints, keys in either
    template syntax, and when and by which process it was published; the flags' version
    does not move."""
    assert publish_inventory(store, pair_inventory())
    published = published_inventory(store, "the store")
    assert {(e.key, e.served_by) for e in published} == {
        ("GET /items/{item_id}", "both"),
        ("POST /orders", "legacy"),
        ("GET /docs", "migrated"),
    }
    assert published.get("GET /items/<int:id>") == pair_inventory().get("GET /items/{x}")
    assert published.get("GET /nope") is None
    with pytest.raises(ValueError, match="METHOD /path"):
        published.get("items")
    assert published.match("GET", "/items/7") is published.get("GET /items/{item_id}")
    assert (published.host, published.pid) == (socket.gethostname(), os.getpid())
    assert published.at.endswith("+00:00")
    assert store.version() == 0


def test_the_same_endpoints_are_not_published_twice(store: FlagStore) -> None:
    """Publishing what the store holds writes nothing; other endpoints replace the record."""
    assert publish_inventory(store, pair_inventory())
    first = store.inventory()
    assert not publish_inventory(store, pair_inventory())
    assert store.inventory() == first
    fewer = Inventory([Endpoint("GET", "/docs", frozenset({Backend.MIGRATED}))])
    assert publish_inventory(store, fewer)
    assert [e.key for e in published_inventory(store, "the store")] == ["GET /docs"]


def test_a_store_with_nothing_published_says_how_to_publish(store: FlagStore) -> None:
    """Reading the inventory of a store no gateway has published to names both ways to fix it."""
    with pytest.raises(NoInventory) as missing:
        published_inventory(store, "var/flags.db")
    assert "no endpoint inventory in the flag store var/flags.db" in str(missing.value)
    assert "`strangler serve`" in str(missing.value)
    assert "`strangler endpoints --publish`" in str(missing.value)


def test_an_inventory_this_version_cannot_read_says_so_and_is_replaced() -> None:
    """A record that is not JSON, or of another schema, is refused with the way to publish it
    again, and the next publication replaces it."""
    store = MemoryFlagStore()
    for record in ("not json", '{"schema": 2, "endpoints": []}'):
        store.save_inventory(record)
        with pytest.raises(FlagStoreError, match="endpoints --publish") as refused:
            published_inventory(store, "var/flags.db")
        assert "in the flag store var/flags.db is not one this strangler reads" in str(
            refused.value
        )
        assert publish_inventory(store, pair_inventory())
        assert len(published_inventory(store, "var/flags.db")) == 3


# The schema of a store made before the inventory was kept in it (strangler 0.2.0).
OLD_SCHEMA = """
CREATE TABLE meta (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL,
    store_id TEXT);
INSERT INTO meta (id, version, store_id) VALUES (1, 1, 'old-store');
CREATE TABLE flags (endpoint TEXT PRIMARY KEY, mode TEXT NOT NULL, percentage REAL NOT NULL,
    version INTEGER NOT NULL, updated_at TEXT NOT NULL, shadow REAL NOT NULL DEFAULT 0,
    side_effect_free TEXT);
INSERT INTO flags VALUES ('GET /a', 'migrated', 100.0, 1, '2026-01-01T00:00:00+00:00', 0, NULL);
CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL,
    actor TEXT NOT NULL, endpoint TEXT NOT NULL, before TEXT, after TEXT NOT NULL,
    reason TEXT NOT NULL, version INTEGER NOT NULL);
INSERT INTO audit (at, actor, endpoint, before, after, reason, version) VALUES
    ('2026-01-01T00:00:00+00:00', 'ann', 'GET /a', NULL,
     '{"mode": "migrated", "percentage": 100.0}', 'ported', 1);
CREATE TABLE readers (reader TEXT PRIMARY KEY, version INTEGER NOT NULL, seen_at REAL NOT NULL);
CREATE TABLE reports (worker TEXT NOT NULL, kind TEXT NOT NULL, at REAL NOT NULL,
    payload TEXT NOT NULL, PRIMARY KEY (worker, kind));
CREATE TABLE leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires REAL NOT NULL);
CREATE TABLE rollouts (endpoint TEXT PRIMARY KEY, revision INTEGER NOT NULL, doc TEXT NOT NULL,
    updated_at REAL NOT NULL);
"""


def test_a_store_file_made_before_the_inventory_is_migrated_when_opened(tmp_path: Path) -> None:
    """An older store file gains the inventory's table when opened for writing, and keeps its
    identity, version, flags and audit trail; a read-only look (a backup) changes nothing."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD_SCHEMA)
    backup = SQLiteFlagStore(path, readonly=True)
    assert backup.inventory() is None
    backup.close()
    with sqlite3.connect(path) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert "inventory" not in tables
    store = SQLiteFlagStore(path)
    assert store.inventory() is None
    assert publish_inventory(store, pair_inventory())
    assert len(published_inventory(store, str(path))) == 3
    assert (store.store_id, store.version()) == ("old-store", 1)
    assert store.snapshot().flags == {"GET /a": Flag(Mode.MIGRATED, 100.0)}
    assert [(e.actor, e.reason) for e in store.history()] == [("ann", "ported")]
    store.close()
