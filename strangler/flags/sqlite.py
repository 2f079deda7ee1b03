"""The SQLite flag store: one file shared by every worker and the CLI.

WAL lets readers (every worker polls `version()`) run beside a writer. Writers take the write
lock up front with BEGIN IMMEDIATE and wait for it up to `busy_timeout`, so concurrent writers
from several processes queue instead of failing with "database is locked", and the read of the
old value (for the audit trail) and the write happen in one transaction: no lost updates.

A store has an identity, a random id written when it is created. It is created only on purpose
(`create=True`: `strangler flags init`, or `strangler serve` on its first start), never by a
read: a CLI command or a worker that finds no file says so instead of starting an empty table
every worker would then adopt. Opened to create, it leaves a note beside its file (`flags.db`:
`flags.db.created`, its id and when): a later start that finds the note but no store knows the
store existed and was deleted, and refuses to begin again on the seed table (`deleted_store`).

Once open, a store object stays bound to that id: a file deleted or replaced by another store is
a fault (the workers keep their last good table), even when the other store has reached the same
version. Every few seconds a read also checks that the file is still a sound SQLite database, so
health does not say `ok` for a store that is garbage on disk.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from strangler.flags.errors import FlagStoreError
from strangler.flags.model import (
    AuditEntry,
    Flag,
    FlagSnapshot,
    bad_row,
    checked_change,
    stored_flag,
    stored_segments,
    utc_now,
)
from strangler.types import Mode

log = logging.getLogger("strangler.flags")

# A writer waits this long for another writer's transaction; changes take milliseconds.
BUSY_TIMEOUT_MS = 10_000

# How often a read also checks the file itself (SQLite's quick_check, from disk).
VERIFY_EVERY = 5.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL,
    store_id TEXT
);
INSERT OR IGNORE INTO meta (id, version) VALUES (1, 0);
CREATE TABLE IF NOT EXISTS flags (
    endpoint TEXT PRIMARY KEY,
    mode TEXT NOT NULL,
    percentage REAL NOT NULL,
    version INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    shadow REAL NOT NULL DEFAULT 0,
    side_effect_free TEXT,
    segments TEXT
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    before TEXT,
    after TEXT NOT NULL,
    reason TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_endpoint ON audit (endpoint, id);
CREATE TABLE IF NOT EXISTS readers (
    reader TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    seen_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS reports (
    worker TEXT NOT NULL,
    kind TEXT NOT NULL,
    at REAL NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (worker, kind)
);
CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS rollouts (
    endpoint TEXT PRIMARY KEY,
    revision INTEGER NOT NULL,
    doc TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS inventory (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    doc TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS findings (
    endpoint TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS schedules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc TEXT NOT NULL,
    created_at REAL NOT NULL
);
"""

# Tables a store made by an older strangler may lack; created when it is opened for writing.
LATER_TABLES = {
    "readers": "reader TEXT PRIMARY KEY, version INTEGER NOT NULL, seen_at REAL NOT NULL",
    "reports": "worker TEXT NOT NULL, kind TEXT NOT NULL, at REAL NOT NULL,"
    " payload TEXT NOT NULL, PRIMARY KEY (worker, kind)",
    "leases": "name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires REAL NOT NULL",
    "rollouts": "endpoint TEXT PRIMARY KEY, revision INTEGER NOT NULL, doc TEXT NOT NULL,"
    " updated_at REAL NOT NULL",
    "inventory": "id INTEGER PRIMARY KEY CHECK (id = 1), doc TEXT NOT NULL,"
    " updated_at REAL NOT NULL",
    "findings": "endpoint TEXT PRIMARY KEY, doc TEXT NOT NULL, updated_at REAL NOT NULL",
    "schedules": "id INTEGER PRIMARY KEY AUTOINCREMENT, doc TEXT NOT NULL,"
    " created_at REAL NOT NULL",
}


def created_note(path: Path) -> Path:
    """The note a store leaves beside its file when it is created: `flags.db.created`."""
    return path.with_name(path.name + ".created")


def deleted_store(path: Path) -> str | None:
    """What the note beside `path` says, if the store it tells of is gone (deleted or moved),
    else None: then `strangler serve` must not create a fresh one in its place by itself."""
    note = created_note(path)
    if path.exists() or not note.is_file():
        return None
    try:
        return note.read_text(encoding="utf-8").strip() or "a store"
    except OSError:
        return "a store"


def _identify(conn: sqlite3.Connection, path: Path, *, create: bool, readonly: bool) -> str:
    """The store's id. Creates the schema (and the id) when `create`; gives a store made by an
    older strangler its id. Looks before it writes: a file that is not a flag store raises
    FlagStoreError untouched, and an up-to-date store is only read (no write lock taken)."""
    if create:
        with _transaction(conn):  # several workers may start at once: the lock makes it atomic
            for statement in filter(str.strip, SCHEMA.split(";")):  # executescript would commit
                conn.execute(statement)
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    if not {"meta", "flags", "audit"} <= tables:
        raise FlagStoreError(f"{path} is not a strangler flag store (no flags tables in it)")
    columns = {row[1] for row in conn.execute("PRAGMA table_info(meta)")}
    flag_columns = {row[1] for row in conn.execute("PRAGMA table_info(flags)")}
    current = (
        "store_id" in columns
        and set(LATER_TABLES) <= tables
        and {"shadow", "segments"} <= flag_columns
    )
    found = conn.execute("SELECT store_id FROM meta").fetchone() if "store_id" in columns else None
    if current and found and found[0]:
        return str(found[0])
    if readonly:
        return str(found[0]) if found and found[0] else ""
    with _transaction(conn):  # a store made by an older strangler: give it what it lacks
        # Read again under the write lock: another process may have just done it.
        columns = {row[1] for row in conn.execute("PRAGMA table_info(meta)")}
        flag_columns = {row[1] for row in conn.execute("PRAGMA table_info(flags)")}
        if "store_id" not in columns:
            conn.execute("ALTER TABLE meta ADD COLUMN store_id TEXT")
        for table, columns_sql in LATER_TABLES.items():
            conn.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns_sql})")
        if "shadow" not in flag_columns:
            conn.execute("ALTER TABLE flags ADD COLUMN shadow REAL NOT NULL DEFAULT 0")
            conn.execute("ALTER TABLE flags ADD COLUMN side_effect_free TEXT")
        if "segments" not in flag_columns:
            conn.execute("ALTER TABLE flags ADD COLUMN segments TEXT")
        conn.execute("UPDATE meta SET store_id = ? WHERE store_id IS NULL", (uuid.uuid4().hex,))
        return str(conn.execute("SELECT store_id FROM meta").fetchone()[0])


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _flag_json(flag: Flag | None) -> str | None:
    return None if flag is None else json.dumps(flag.to_dict())


def _flag_from_json(text: str | None) -> Flag | None:
    return None if text is None else Flag.from_dict(json.loads(text))


def _flag(row: tuple[Any, ...]) -> Flag:
    """A flag from (mode, percentage[, shadow, side_effect_free[, segments]]) columns; a
    malformed one raises ValueError or TypeError."""
    shadow = float(row[2]) if len(row) > 2 else 0.0
    segments = stored_segments(json.loads(row[4])) if len(row) > 4 and row[4] else ()
    return Flag(Mode(row[0]), float(row[1]), shadow, row[3] if len(row) > 3 else None, segments)


def _segments_json(flag: Flag) -> str | None:
    """The segments column: their specs as a JSON list, NULL when the flag has none."""
    return json.dumps([str(s) for s in flag.segments]) if flag.segments else None


class SQLiteFlagStore:
    """A flag store in one SQLite file; safe across threads and processes."""

    def __init__(self, path: Path, *, create: bool = False, readonly: bool = False) -> None:
        self.path = path
        self._create = create  # only until the store was first opened
        self._readonly = readonly  # a backup being read: nothing is written to it
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._inode: int | None = None  # of the file the connection has open
        self.store_id: str | None = None  # the identity this object is bound to
        self._verified_at = 0.0

    @property
    def _db(self) -> sqlite3.Connection:
        """The connection, opened on first use: a gateway starts even while its store is down,
        routes by its defaults, and retries the open on the next read."""
        if self._conn is None:
            conn = self._open()
            self._conn, self._create = conn, False
            self._inode = os.stat(self.path).st_ino
        return self._conn

    def _open(self) -> sqlite3.Connection:
        if not self._create and not self.path.exists():
            raise FlagStoreError(
                f"no flag store at {self.path}: create it with `strangler flags init` (or"
                " `strangler serve`, which creates it on its first start)"
            )
        conn: sqlite3.Connection | None = None
        try:
            if self._create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            # "rw" never creates the file; "ro" never writes to it.
            mode = "ro" if self._readonly else "rwc" if self._create else "rw"
            uri = f"file:{urllib.parse.quote(str(self.path.resolve()))}?mode={mode}"
            # isolation_level=None: we write BEGIN/COMMIT ourselves (see module docstring).
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            store_id = _identify(conn, self.path, create=self._create, readonly=self._readonly)
            found = {row[1] for row in conn.execute("PRAGMA table_info(flags)")}
            # (a read-only look at a store made before shadowing or segments lacks their columns)
            self._columns = "mode, percentage"
            if "shadow" in found:
                self._columns += ", shadow, side_effect_free"
                if "segments" in found:
                    self._columns += ", segments"
            self._tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            if not self._readonly:  # only once it is known to be a flag store
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
        except (sqlite3.Error, OSError) as exc:
            if conn is not None:
                conn.close()
            raise FlagStoreError(f"cannot open the flag store {self.path}: {exc}") from exc
        except FlagStoreError:
            if conn is not None:
                conn.close()
            raise
        if self._create:
            self._leave_note(store_id)
        if self.store_id is None:
            self.store_id = store_id
        elif store_id != self.store_id:
            conn.close()
            raise FlagStoreError(
                f"the flag store at {self.path} was replaced by another store (id {store_id},"
                f" not {self.store_id}); routing by the last good table. Put the store's own file"
                " back, or restart the gateway to adopt the new one"
            )
        return conn

    def _leave_note(self, store_id: str) -> None:
        """Writes the note that this store was created here (see the module docstring); a note
        that cannot be written costs only that protection, so it is logged, not raised."""
        note = created_note(self.path)
        text = f"store {store_id}, created {utc_now()}\n"
        try:
            if not note.is_file() or not note.read_text(encoding="utf-8").startswith(
                f"store {store_id},"
            ):
                note.write_text(text, encoding="utf-8")
        except OSError as exc:
            log.warning("cannot write %s (%s): a deleted store would not be noticed", note, exc)

    @contextmanager
    def _write(self) -> Iterator[None]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
                self._db.execute("COMMIT")
            except BaseException:
                # Also after a failed COMMIT: leave no transaction open for the next writer.
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise FlagStoreError(f"cannot {doing} the flag store {self.path}: {exc}") from exc

    def version(self) -> int:
        self._follow_the_file()
        with self._errors("read"), self._lock:
            row = self._db.execute("SELECT version, store_id FROM meta").fetchone()
            if time.monotonic() - self._verified_at > VERIFY_EVERY:
                self._verify()
        if row[1] != self.store_id:  # another store copied over this file, in place
            raise FlagStoreError(
                f"the flag store at {self.path} was overwritten by another store (id {row[1]},"
                f" not {self.store_id}); routing by the last good table"
            )
        return int(row[0])

    def _verify(self) -> None:
        """Checks the file on disk: an open connection can keep answering from its cache while
        the file under it has been overwritten. The check reads through a fresh SQLite
        connection: opening and closing the file any other way would drop the POSIX locks this
        process holds on it (SQLite's documented way to corrupt a database)."""
        uri = f"file:{urllib.parse.quote(str(self.path.resolve()))}?mode=ro"
        try:
            probe = sqlite3.connect(uri, uri=True)
            try:
                result = probe.execute("PRAGMA quick_check(1)").fetchone()
            finally:
                probe.close()
        except sqlite3.Error as exc:
            raise FlagStoreError(f"the flag store {self.path} cannot be read: {exc}") from exc
        if not result or result[0] != "ok":
            raise FlagStoreError(f"the flag store {self.path} is damaged: {result[0]}")
        self._verified_at = time.monotonic()

    def _follow_the_file(self) -> None:
        """Reopens the store if its file was replaced; refuses to go on if it was deleted.

        An open connection keeps reading (and writing) a deleted or replaced file forever. A
        file put back from a copy of this store is reopened; another store's file is refused
        when reopened (see `_open`); a missing one is a fault, not an empty table, so workers
        keep their last good flags rather than fall back to legacy.
        """
        if self._conn is None:
            return
        try:
            inode = os.stat(self.path).st_ino
        except FileNotFoundError:
            raise FlagStoreError(f"the flag store {self.path} was deleted") from None
        if inode != self._inode:
            self.close()

    def snapshot(self) -> FlagSnapshot:
        self._follow_the_file()
        with self._errors("read"), self._lock:
            # One read transaction, so the version and the rows agree.
            self._db.execute("BEGIN")
            try:
                version = self._db.execute("SELECT version FROM meta").fetchone()[0]
                rows = self._db.execute(f"SELECT endpoint, {self._columns} FROM flags").fetchall()
            finally:
                self._db.execute("COMMIT")
        return FlagSnapshot.of(int(version), {row[0]: self._read(row[0], row[1:]) for row in rows})

    def _read(self, endpoint: str, columns: tuple[Any, ...]) -> Flag:
        """The flag of one row, if the admin API would have written it (see model.stored_flag)."""
        try:
            flag = _flag(columns)
        except (ValueError, TypeError) as exc:  # a mode or a number that is not one
            raise bad_row(str(self.path), endpoint, str(exc)) from None
        return stored_flag(str(self.path), endpoint, flag)

    def set(self, endpoint: str, flag: Flag, *, actor: str, reason: str) -> AuditEntry:
        checked_change(flag, actor, reason)
        self._follow_the_file()  # never a change written into a deleted or replaced file
        at = utc_now()
        with self._errors("write"), self._write():
            row = self._db.execute(
                f"SELECT {self._columns} FROM flags WHERE endpoint = ?", (endpoint,)
            ).fetchone()
            before = _flag(row) if row else None
            self._db.execute("UPDATE meta SET version = version + 1")
            version = self._db.execute("SELECT version FROM meta").fetchone()[0]
            self._db.execute(
                "INSERT INTO flags (endpoint, mode, percentage, version, updated_at, shadow,"
                " side_effect_free, segments) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (endpoint) DO UPDATE"
                " SET mode = excluded.mode, percentage = excluded.percentage,"
                " version = excluded.version, updated_at = excluded.updated_at,"
                " shadow = excluded.shadow, side_effect_free = excluded.side_effect_free,"
                " segments = excluded.segments",
                (
                    endpoint,
                    flag.mode.value,
                    flag.percentage,
                    version,
                    at,
                    flag.shadow,
                    flag.side_effect_free,
                    _segments_json(flag),
                ),
            )
            cursor = self._db.execute(
                "INSERT INTO audit (at, actor, endpoint, before, after, reason, version)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (at, actor, endpoint, _flag_json(before), _flag_json(flag), reason, version),
            )
            entry_id = cursor.lastrowid
        return AuditEntry(int(entry_id or 0), at, actor, endpoint, before, flag, reason, version)

    def history(self, endpoint: str | None = None, limit: int = 50) -> list[AuditEntry]:
        query = "SELECT id, at, actor, endpoint, before, after, reason, version FROM audit"
        params: tuple[object, ...] = ()
        if endpoint is not None:
            query += " WHERE endpoint = ?"
            params = (endpoint,)
        query += " ORDER BY id DESC LIMIT ?"
        self._follow_the_file()
        with self._errors("read"), self._lock:
            rows = self._db.execute(query, (*params, limit)).fetchall()
        return [
            AuditEntry(
                id=row[0],
                at=row[1],
                actor=row[2],
                endpoint=row[3],
                before=_flag_from_json(row[4]),
                after=_flag_from_json(row[5])
                or Flag(Mode.LEGACY),  # NOT NULL: for the type checker
                reason=row[6],
                version=row[7],
            )
            for row in rows
        ]

    def note_reader(self, reader: str, version: int) -> None:
        self._follow_the_file()
        with self._errors("write"), self._write():
            self._db.execute(
                "INSERT INTO readers (reader, version, seen_at) VALUES (?, ?, ?)"
                " ON CONFLICT (reader) DO UPDATE SET version = excluded.version,"
                " seen_at = excluded.seen_at",
                (reader, version, time.time()),
            )
            # Workers come and go: forget those not heard from in an hour.
            self._db.execute("DELETE FROM readers WHERE seen_at < ?", (time.time() - 3600,))

    def readers(self, within: float) -> dict[str, int]:
        self._follow_the_file()
        with self._errors("read"), self._lock:
            rows = self._db.execute(
                "SELECT reader, version FROM readers WHERE seen_at >= ?", (time.time() - within,)
            ).fetchall()
        return {str(reader): int(version) for reader, version in rows}

    def forget_reader(self, reader: str) -> None:
        self._follow_the_file()
        with self._errors("write"), self._write():
            self._db.execute("DELETE FROM readers WHERE reader = ?", (reader,))

    def publish(self, worker: str, kind: str, payload: str) -> None:
        self._follow_the_file()
        with self._errors("write"), self._write():
            self._db.execute(
                "INSERT INTO reports (worker, kind, at, payload) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (worker, kind) DO UPDATE SET at = excluded.at,"
                " payload = excluded.payload",
                (worker, kind, time.time(), payload),
            )
            self._db.execute("DELETE FROM reports WHERE at < ?", (time.time() - 3600,))

    def published(self, kind: str, within: float) -> dict[str, str]:
        self._follow_the_file()
        with self._errors("read"), self._lock:
            db = self._db  # opened first: it reads which tables the file has
            if "reports" not in self._tables:
                return {}
            rows = db.execute(
                "SELECT worker, payload FROM reports WHERE kind = ? AND at >= ?",
                (kind, time.time() - within),
            ).fetchall()
        return {str(worker): str(payload) for worker, payload in rows}

    def lease(self, name: str, holder: str, seconds: float) -> bool:
        self._follow_the_file()
        now = time.time()
        with self._errors("write"), self._write():
            row = self._db.execute(
                "SELECT holder, expires FROM leases WHERE name = ?", (name,)
            ).fetchone()
            if row is not None and row[0] != holder and row[1] > now:
                return False
            self._db.execute(
                "INSERT INTO leases (name, holder, expires) VALUES (?, ?, ?) ON CONFLICT (name)"
                " DO UPDATE SET holder = excluded.holder, expires = excluded.expires",
                (name, holder, now + seconds),
            )
            return True

    def rollouts(self) -> dict[str, tuple[int, str]]:
        self._follow_the_file()
        with self._errors("read"), self._lock:
            db = self._db  # opened first: it reads which tables the file has
            if "rollouts" not in self._tables:
                return {}
            rows = db.execute("SELECT endpoint, revision, doc FROM rollouts").fetchall()
        return {str(endpoint): (int(revision), str(doc)) for endpoint, revision, doc in rows}

    def save_rollout(self, endpoint: str, doc: str, revision: int) -> bool:
        self._follow_the_file()
        with self._errors("write"), self._write():
            row = self._db.execute(
                "SELECT revision FROM rollouts WHERE endpoint = ?", (endpoint,)
            ).fetchone()
            if (row[0] if row else 0) != revision:
                return False
            self._db.execute(
                "INSERT INTO rollouts (endpoint, revision, doc, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (endpoint) DO UPDATE SET revision = excluded.revision,"
                " doc = excluded.doc, updated_at = excluded.updated_at",
                (endpoint, revision + 1, doc, time.time()),
            )
            return True

    def add_schedule(self, doc: str) -> int:
        self._follow_the_file()
        with self._errors("write"), self._write():
            cursor = self._db.execute(
                "INSERT INTO schedules (doc, created_at) VALUES (?, ?)", (doc, time.time())
            )
            return int(cursor.lastrowid or 0)

    def schedules(self) -> dict[int, str]:
        self._follow_the_file()
        with self._errors("read"), self._lock:
            db = self._db  # opened first: it reads which tables the file has
            if "schedules" not in self._tables:
                return {}
            rows = db.execute("SELECT id, doc FROM schedules ORDER BY id").fetchall()
        return {int(row_id): str(doc) for row_id, doc in rows}

    def drop_schedule(self, schedule_id: int) -> bool:
        self._follow_the_file()
        with self._errors("write"), self._write():
            cursor = self._db.execute("DELETE FROM schedules WHERE id = ?", (schedule_id,))
            return cursor.rowcount > 0

    def inventory(self) -> str | None:
        self._follow_the_file()
        with self._errors("read"), self._lock:
            db = self._db  # opened first: it reads which tables the file has
            if "inventory" not in self._tables:
                return None
            row = db.execute("SELECT doc FROM inventory").fetchone()
        return str(row[0]) if row else None

    def save_inventory(self, doc: str) -> None:
        self._follow_the_file()
        with self._errors("write"), self._write():
            self._db.execute(
                "INSERT INTO inventory (id, doc, updated_at) VALUES (1, ?, ?) ON CONFLICT (id)"
                " DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at",
                (doc, time.time()),
            )

    def findings(self) -> dict[str, str]:
        self._follow_the_file()
        with self._errors("read"), self._lock:
            db = self._db  # opened first: it reads which tables the file has
            if "findings" not in self._tables:
                return {}
            rows = db.execute("SELECT endpoint, doc FROM findings").fetchall()
        return {str(endpoint): str(doc) for endpoint, doc in rows}

    def update_findings(
        self, endpoint: str, change: Callable[[str | None], str | None]
    ) -> str | None:
        self._follow_the_file()
        with self._errors("write"), self._write():  # the read and the write: one transaction
            row = self._db.execute(
                "SELECT doc FROM findings WHERE endpoint = ?", (endpoint,)
            ).fetchone()
            new = change(str(row[0]) if row else None)
            if new is None:
                self._db.execute("DELETE FROM findings WHERE endpoint = ?", (endpoint,))
            else:
                self._db.execute(
                    "INSERT INTO findings (endpoint, doc, updated_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (endpoint) DO UPDATE SET doc = excluded.doc,"
                    " updated_at = excluded.updated_at",
                    (endpoint, new, time.time()),
                )
            return new

    def load(self, version: int, flags: dict[str, Flag], audit: list[AuditEntry]) -> None:
        for entry in audit:
            checked_change(entry.after, entry.actor, entry.reason)
        for flag in flags.values():
            flag.checked()
        self._follow_the_file()
        last_change = {entry.endpoint: entry for entry in audit}
        with self._errors("write"), self._write():
            if self._db.execute("SELECT version FROM meta").fetchone()[0] != 0:
                raise FlagStoreError("the store is not empty: nothing was loaded")
            for entry in audit:
                self._db.execute(
                    "INSERT INTO audit (id, at, actor, endpoint, before, after, reason, version)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        entry.id,
                        entry.at,
                        entry.actor,
                        entry.endpoint,
                        _flag_json(entry.before),
                        _flag_json(entry.after),
                        entry.reason,
                        entry.version,
                    ),
                )
            for endpoint, flag in flags.items():
                changed = last_change.get(endpoint)
                self._db.execute(
                    "INSERT INTO flags (endpoint, mode, percentage, version, updated_at, shadow,"
                    " side_effect_free, segments) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        endpoint,
                        flag.mode.value,
                        flag.percentage,
                        changed.version if changed else version,
                        changed.at if changed else utc_now(),
                        flag.shadow,
                        flag.side_effect_free,
                        _segments_json(flag),
                    ),
                )
            self._db.execute("UPDATE meta SET version = ?", (version,))

    def backup(self, destination: Path) -> None:
        """Writes a consistent copy of the whole store, WAL included, to the new file
        `destination` (SQLite's online backup: writers may go on meanwhile)."""
        if destination.exists():
            raise FlagStoreError(f"{destination} exists already; back up to a new file")
        with self._errors("back up"), self._lock:
            target = sqlite3.connect(destination)
            try:
                self._db.backup(target)
            finally:
                target.close()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
                self._inode = None
