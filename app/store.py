"""The flag-store protocol, its in-memory implementation, and opening a store by location.

A store keeps the flag table and its audit trail. Every change bumps one version number, so a
worker learns whether anything changed with one cheap read (`version()`), and reloads the whole
table (`snapshot()`) only then.
"""

from __future__ import annotations

import datetime
import threading
from pathlib import Path
from typing import Protocol

from app.flags import AuditEntry, Flag, FlagSnapshot


class FlagStore(Protocol):
    """What the gateway, the admin API and the CLI need of a flag store."""

    def version(self) -> int:
        """The version of the table; it grows with every change."""
        ...

    def snapshot(self) -> FlagSnapshot:
        """The whole table at one version."""
        ...

    def set(self, endpoint: str, flag: Flag, *, actor: str, reason: str) -> AuditEntry:
        """Sets one flag atomically and records the change; returns the audit entry."""
        ...

    def history(self, endpoint: str | None = None, limit: int = 50) -> list[AuditEntry]:
        """The newest changes first, of one endpoint or of all."""
        ...

    def close(self) -> None: ...


def utc_now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")


class MemoryFlagStore:
    """A flag store in this process's memory: for tests, and for one-process deployments."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flags: dict[str, Flag] = {}
        self._audit: list[AuditEntry] = []
        self._version = 0

    def version(self) -> int:
        return self._version

    def snapshot(self) -> FlagSnapshot:
        with self._lock:
            return FlagSnapshot.of(self._version, self._flags)

    def set(self, endpoint: str, flag: Flag, *, actor: str, reason: str) -> AuditEntry:
        with self._lock:
            self._version += 1
            entry = AuditEntry(
                id=len(self._audit) + 1,
                at=utc_now(),
                actor=actor,
                endpoint=endpoint,
                before=self._flags.get(endpoint),
                after=flag,
                reason=reason,
                version=self._version,
            )
            self._flags[endpoint] = flag
            self._audit.append(entry)
            return entry

    def history(self, endpoint: str | None = None, limit: int = 50) -> list[AuditEntry]:
        with self._lock:
            entries = [e for e in self._audit if endpoint is None or e.endpoint == endpoint]
        return entries[::-1][:limit]

    def close(self) -> None:
        pass


def open_store(location: str | Path) -> FlagStore:
    """Opens a store by location: `memory:` (or `:memory:`), else the path of a SQLite file."""
    from app.sqlite_store import SQLiteFlagStore

    if str(location) in ("memory:", ":memory:"):
        return MemoryFlagStore()
    return SQLiteFlagStore(Path(location))
