"""The SQLite flag store (strangler.flags.sqlite): one file shared by processes, faults of the file
noticed, shadow settings kept, older files migrated."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from strangler.flags.errors import BadFlagRow, FlagStoreError
from strangler.flags.inventory import publish_inventory, published_inventory
from strangler.flags.model import Flag
from strangler.flags.service import FlagService
from strangler.flags.sqlite import SQLiteFlagStore, created_note, deleted_store
from strangler.flags.store import open_store
from strangler.flags.watcher import FlagWatcher
from strangler.metrics.counters import GatewayMetrics
from strangler.types import Mode
from tests.flags.conftest import pair_inventory

# The schema of a store made before shadowing was kept in it.
PRE_SHADOW_SCHEMA = """
CREATE TABLE meta (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
INSERT INTO meta (id, version) VALUES (1, 1);
CREATE TABLE flags (endpoint TEXT PRIMARY KEY, mode TEXT NOT NULL, percentage REAL NOT NULL,
    version INTEGER NOT NULL, updated_at TEXT NOT NULL);
INSERT INTO flags VALUES ('GET /hello', 'migrated', 100.0, 1, '2026-01-01');
CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL,
    endpoint TEXT NOT NULL, before TEXT, after TEXT NOT NULL, reason TEXT NOT NULL,
    version INTEGER NOT NULL);
"""


def test_a_shadow_flag_round_trips_through_sqlite_and_its_audit(tmp_path: Path) -> None:
    store = SQLiteFlagStore(tmp_path / "f.db", create=True)
    flag = Flag(Mode.CANARY, 25.0, shadow=10.0, side_effect_free="pure")
    entry = store.set("POST /predict", flag, actor="ann", reason="watch")
    assert store.snapshot().flags["POST /predict"] == flag
    assert store.snapshot().shadowing
    assert store.history()[0].after == flag
    assert entry.to_dict()["after"] == {
        "mode": "canary",
        "percentage": 25.0,
        "shadow": 10.0,
        "side_effect_free": "pure",
    }


def test_a_store_made_before_shadowing_is_given_its_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(PRE_SHADOW_SCHEMA)
    readonly = SQLiteFlagStore(path, readonly=True)
    assert readonly.snapshot().flags["GET /hello"] == Flag(Mode.MIGRATED, 100.0)
    store = SQLiteFlagStore(path)
    assert store.snapshot().flags["GET /hello"] == Flag(Mode.MIGRATED, 100.0)
    store.set("GET /hello", Flag(Mode.MIGRATED, 100.0, shadow=5.0), actor="a", reason="r")
    assert store.snapshot().flags["GET /hello"].shadow == 5.0


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


# The schema of a store made before the inventory was kept in it (strangler 0.2.0).
PRE_INVENTORY_SCHEMA = """
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
        conn.executescript(PRE_INVENTORY_SCHEMA)
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


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("percentage", 500),
        ("percentage", -1),
        ("shadow", 1e9),
        ("mode", "sideways"),
        ("segments", '["query:tenant=acme->migrated"]'),
        ("segments", '"header:X-Tenant=acme->migrated"'),
        ("segments", "[not json"),
    ],
    ids=[
        "percentage-500",
        "percentage-minus-1",
        "shadow-1e9",
        "unknown-mode",
        "segment-of-unknown-kind",
        "segments-not-a-list",
        "segments-not-json",
    ],
)
def test_a_bad_row_written_behind_the_store_is_a_fault(
    tmp_path: Path, column: str, value: object
) -> None:
    """A row out of range written straight into the file is not routed by: the watcher keeps
    the last good table, health says degraded naming the row, store-up says 0 (#22)."""
    path = tmp_path / "flags.db"
    store = open_store(path, create=True)
    store.set("GET /a", Flag.build("canary", 25), actor="ann", reason="try")
    watcher = FlagWatcher(open_store(path))
    metrics = GatewayMetrics()
    with sqlite3.connect(path) as conn:
        conn.execute(f"UPDATE flags SET {column} = ?", (value,))
        conn.execute("UPDATE meta SET version = version + 1")
    conn.close()
    watcher.refresh()
    metrics.sync(watcher, None)
    assert watcher.snapshot.flags["GET /a"] == Flag(Mode.CANARY, 25.0)
    assert watcher.health()["status"] == "degraded"
    assert "bad flag for 'GET /a'" in watcher.health()["error"]
    assert metrics.registry.get_sample_value("strangler_flag_store_up") == 0
    watcher.close()
    store.close()


def test_setting_a_bad_row_again_repairs_the_table(tmp_path: Path) -> None:
    """`flags set` on the endpoint whose row is bad writes it anew, and the table reads again."""
    path = tmp_path / "flags.db"
    store = open_store(path, create=True)
    store.set("GET /items/{item_id}", Flag.build("canary", 25), actor="ann", reason="try")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE flags SET percentage = 500")
    conn.close()
    service = FlagService(store, pair_inventory())
    with pytest.raises(BadFlagRow):
        store.snapshot()
    service.set("GET /items/{item_id}", "legacy", actor="ann", reason="repair")
    assert store.snapshot().flags["GET /items/{item_id}"] == Flag(Mode.LEGACY)
    store.close()


def test_a_store_created_leaves_a_note_that_tells_of_it_once_deleted(tmp_path: Path) -> None:
    """Creating a store leaves `flags.db.created` naming it; once the file is gone the note
    says a store was there, and a read-only open leaves no note (#22)."""
    path = tmp_path / "flags.db"
    assert deleted_store(path) is None  # nothing was ever here
    read = SQLiteFlagStore(path)
    with pytest.raises(FlagStoreError):
        read.version()
    assert not created_note(path).exists()
    store = SQLiteFlagStore(path, create=True)
    store.version()
    store.close()
    assert f"store {store.store_id}" in created_note(path).read_text()
    assert deleted_store(path) is None  # the store is there
    for file in tmp_path.glob("flags.db*"):
        if file != created_note(path):
            file.unlink()
    assert f"store {store.store_id}" in (deleted_store(path) or "")


def test_a_store_made_before_segments_is_given_their_column(tmp_path: Path) -> None:
    """An older store file (no segments column) is read as it is read-only, and gains the
    column when opened for writing; its flags keep routing and take segments (issue #25)."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(PRE_INVENTORY_SCHEMA)
    conn.close()
    backup = SQLiteFlagStore(path, readonly=True)
    assert backup.snapshot().flags == {"GET /a": Flag(Mode.MIGRATED, 100.0)}
    backup.close()
    store = SQLiteFlagStore(path)
    assert store.snapshot().flags == {"GET /a": Flag(Mode.MIGRATED, 100.0)}
    flag = Flag.build("migrated").with_segments(["cookie:stay=1->legacy"])
    store.set("GET /a", flag, actor="ann", reason="pin a tester")
    assert store.snapshot().flags["GET /a"] == flag
    store.close()
    with sqlite3.connect(path) as conn:
        row = conn.execute("SELECT segments FROM flags").fetchone()
    conn.close()
    assert row == ('["cookie:stay=1->legacy"]',)
