"""The SQLite flag store: one file shared by every worker and the CLI.

WAL lets readers (every worker polls `version()`) run beside a writer. Writers take the write
lock up front with BEGIN IMMEDIATE and wait for it up to `busy_timeout`, so concurrent writers
from several processes queue instead of failing with "database is locked", and the read of the
old value (for the audit trail) and the write happen in one transaction: no lost updates.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from strangler.flags.errors import FlagStoreError
from strangler.flags.model import AuditEntry, Flag, FlagSnapshot, utc_now
from strangler.types import Mode

# A writer waits this long for another writer's transaction; changes take milliseconds.
BUSY_TIMEOUT_MS = 10_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT OR IGNORE INTO meta (id, version) VALUES (1, 0);
CREATE TABLE IF NOT EXISTS flags (
    endpoint TEXT PRIMARY KEY,
    mode TEXT NOT NULL,
    percentage REAL NOT NULL,
    version INTEGER NOT NULL,
    updated_at TEXT NOT NULL
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
"""


def _flag_json(flag: Flag | None) -> str | None:
    return None if flag is None else json.dumps(flag.to_dict())


def _flag_from_json(text: str | None) -> Flag | None:
    if text is None:
        return None
    data = json.loads(text)
    return Flag(Mode(data["mode"]), float(data["percentage"]))


class SQLiteFlagStore:
    """A flag store in one SQLite file; safe across threads and processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._inode: int | None = None  # of the file the connection has open

    @property
    def _db(self) -> sqlite3.Connection:
        """The connection, opened on first use: a gateway starts even while its store is down,
        routes by its defaults, and retries the open on the next read."""
        if self._conn is None:
            conn: sqlite3.Connection | None = None
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # isolation_level=None: we write BEGIN/COMMIT ourselves (see module docstring).
                conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
                # Several workers may start at once: the write lock makes the schema atomic.
                conn.executescript("BEGIN IMMEDIATE;" + SCHEMA + "COMMIT;")
            except (sqlite3.Error, OSError) as exc:
                if conn is not None:
                    conn.close()
                raise FlagStoreError(f"cannot open the flag store {self.path}: {exc}") from exc
            self._conn = conn
            self._inode = os.stat(self.path).st_ino
        return self._conn

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
            row = self._db.execute("SELECT version FROM meta").fetchone()
        return int(row[0])

    def _follow_the_file(self) -> None:
        """Reopens the store if its file was replaced; refuses to go on if it was deleted.

        An open connection keeps reading a deleted or replaced file forever. A replaced file
        (restored from a backup, say) is the store now; a missing one is a fault, not an empty
        table, so workers keep their last good flags rather than fall back to legacy.
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
        with self._errors("read"), self._lock:
            # One read transaction, so the version and the rows agree.
            self._db.execute("BEGIN")
            try:
                version = self._db.execute("SELECT version FROM meta").fetchone()[0]
                rows = self._db.execute("SELECT endpoint, mode, percentage FROM flags").fetchall()
            finally:
                self._db.execute("COMMIT")
        flags = {endpoint: Flag(Mode(mode), float(pct)) for endpoint, mode, pct in rows}
        return FlagSnapshot.of(int(version), flags)

    def set(self, endpoint: str, flag: Flag, *, actor: str, reason: str) -> AuditEntry:
        at = utc_now()
        with self._errors("write"), self._write():
            row = self._db.execute(
                "SELECT mode, percentage FROM flags WHERE endpoint = ?", (endpoint,)
            ).fetchone()
            before = Flag(Mode(row[0]), float(row[1])) if row else None
            self._db.execute("UPDATE meta SET version = version + 1")
            version = self._db.execute("SELECT version FROM meta").fetchone()[0]
            self._db.execute(
                "INSERT INTO flags (endpoint, mode, percentage, version, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (endpoint) DO UPDATE SET"
                " mode = excluded.mode, percentage = excluded.percentage,"
                " version = excluded.version, updated_at = excluded.updated_at",
                (endpoint, flag.mode.value, flag.percentage, version, at),
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

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
                self._inode = None
