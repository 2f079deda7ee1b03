"""The in-memory flag store: first-class code, for tests and for one-process deployments."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from strangler.flags.model import AuditEntry, Flag, FlagSnapshot, checked_change, utc_now


class MemoryFlagStore:
    """A flag store in this process's memory: for tests, and for one-process deployments."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flags: dict[str, Flag] = {}
        self._audit: list[AuditEntry] = []
        self._version = 0
        self._readers: dict[str, tuple[int, float]] = {}
        self._published: dict[tuple[str, str], tuple[str, float]] = {}
        self._leases: dict[str, tuple[str, float]] = {}
        self._rollouts: dict[str, tuple[int, str]] = {}
        self._inventory: str | None = None
        self._findings: dict[str, str] = {}
        self._schedules: dict[int, str] = {}
        self._schedule_ids = 0

    def version(self) -> int:
        return self._version

    def snapshot(self) -> FlagSnapshot:
        with self._lock:
            return FlagSnapshot.of(self._version, self._flags)

    def set(self, endpoint: str, flag: Flag, *, actor: str, reason: str) -> AuditEntry:
        checked_change(flag, actor, reason)
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

    def note_reader(self, reader: str, version: int) -> None:
        with self._lock:
            self._readers[reader] = (version, time.time())

    def readers(self, within: float) -> dict[str, int]:
        since = time.time() - within
        with self._lock:
            return {r: v for r, (v, at) in self._readers.items() if at >= since}

    def forget_reader(self, reader: str) -> None:
        with self._lock:
            self._readers.pop(reader, None)

    def publish(self, worker: str, kind: str, payload: str) -> None:
        with self._lock:
            self._published[(worker, kind)] = (payload, time.time())

    def published(self, kind: str, within: float) -> dict[str, str]:
        since = time.time() - within
        with self._lock:
            return {
                worker: payload
                for (worker, of), (payload, at) in self._published.items()
                if of == kind and at >= since
            }

    def lease(self, name: str, holder: str, seconds: float) -> bool:
        now = time.time()
        with self._lock:
            current = self._leases.get(name)
            if current is not None and current[0] != holder and current[1] > now:
                return False
            self._leases[name] = (holder, now + seconds)
            return True

    def rollouts(self) -> dict[str, tuple[int, str]]:
        with self._lock:
            return dict(self._rollouts)

    def save_rollout(self, endpoint: str, doc: str, revision: int) -> bool:
        with self._lock:
            if self._rollouts.get(endpoint, (0, ""))[0] != revision:
                return False
            self._rollouts[endpoint] = (revision + 1, doc)
            return True

    def add_schedule(self, doc: str) -> int:
        with self._lock:
            self._schedule_ids += 1
            self._schedules[self._schedule_ids] = doc
            return self._schedule_ids

    def schedules(self) -> dict[int, str]:
        with self._lock:
            return dict(self._schedules)

    def drop_schedule(self, schedule_id: int) -> bool:
        with self._lock:
            return self._schedules.pop(schedule_id, None) is not None

    def inventory(self) -> str | None:
        return self._inventory

    def save_inventory(self, doc: str) -> None:
        self._inventory = doc

    def findings(self) -> dict[str, str]:
        with self._lock:
            return dict(self._findings)

    def update_findings(
        self, endpoint: str, change: Callable[[str | None], str | None]
    ) -> str | None:
        with self._lock:
            new = change(self._findings.get(endpoint))
            if new is None:
                self._findings.pop(endpoint, None)
            else:
                self._findings[endpoint] = new
            return new

    def load(self, version: int, flags: dict[str, Flag], audit: list[AuditEntry]) -> None:
        for entry in audit:
            checked_change(entry.after, entry.actor, entry.reason)
        for flag in flags.values():
            flag.checked()
        with self._lock:
            self._version = version
            self._flags = dict(flags)
            self._audit = list(audit)

    def close(self) -> None:
        pass
