"""The flag-store protocol, and opening a store by its location.

A store keeps the flag table and its audit trail. Every change bumps one version number, so a
worker learns whether anything changed with one cheap read (`version()`), and reloads the whole
table (`snapshot()`) only then.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from strangler.flags.errors import FlagStoreError
from strangler.flags.memory import MemoryFlagStore
from strangler.flags.model import AuditEntry, Flag, FlagSnapshot
from strangler.flags.sqlite import SQLiteFlagStore, created_note, deleted_store


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

    def note_reader(self, reader: str, version: int) -> None:
        """Records that the gateway worker `reader` routes by `version` now (a heartbeat)."""
        ...

    def readers(self, within: float) -> dict[str, int]:
        """The workers heard from in the last `within` seconds, with the version each routes by."""
        ...

    def forget_reader(self, reader: str) -> None:
        """Drops the heartbeat of `reader`, a worker stopping cleanly: a change made next does
        not wait for it, nor say it lags behind."""
        ...

    def publish(self, worker: str, kind: str, payload: str) -> None:
        """Keeps what worker `worker` found of `kind` (e.g. `shadow`: its shadow report, JSON),
        replacing what it published before, so any process can read every worker's."""
        ...

    def published(self, kind: str, within: float) -> dict[str, str]:
        """Each worker's latest payload of `kind`, from those heard from in `within` seconds."""
        ...

    def lease(self, name: str, holder: str, seconds: float) -> bool:
        """Takes the lease `name` for `holder`, or renews it, for `seconds`; False while another
        holder's lease has not run out (one instance judges a rollout at a time)."""
        ...

    def rollouts(self) -> dict[str, tuple[int, str]]:
        """Every rollout kept: endpoint -> (revision, its state as JSON)."""
        ...

    def save_rollout(self, endpoint: str, doc: str, revision: int) -> bool:
        """Writes the rollout of `endpoint` if its revision is still `revision` (0: there is
        none yet), as revision + 1; False if another writer got there first."""
        ...

    def add_schedule(self, doc: str) -> int:
        """Keeps a change scheduled for later (JSON, strangler.flags.schedule); returns its id,
        never one given before."""
        ...

    def schedules(self) -> dict[int, str]:
        """Every scheduled change kept: id -> its document."""
        ...

    def drop_schedule(self, schedule_id: int) -> bool:
        """Removes a scheduled change; True if this call removed it (so of two workers, or a
        worker and an operator cancelling, exactly one does)."""
        ...

    def inventory(self) -> str | None:
        """The endpoint inventory last published (JSON, strangler.flags.inventory), or None."""
        ...

    def save_inventory(self, doc: str) -> None:
        """Replaces the endpoint inventory with `doc` (it does not change the flags' version)."""
        ...

    def findings(self) -> dict[str, str]:
        """Every endpoint's durable shadow findings: endpoint -> document (JSON, kept until
        acknowledged or cleared: strangler.shadow.findings)."""
        ...

    def update_findings(
        self, endpoint: str, change: Callable[[str | None], str | None]
    ) -> str | None:
        """Replaces the findings of `endpoint` with `change(current)` (None: removes them) in
        one atomic step, so workers folding in at once lose nothing; returns what was written.
        `change` may be called again if another writer got there first."""
        ...

    def load(self, version: int, flags: dict[str, Flag], audit: list[AuditEntry]) -> None:
        """Fills an empty store with another's table and history, as they were, in one write
        (strangler.flags.transfer checks that it is empty first)."""
        ...

    def close(self) -> None: ...


def open_store(location: str | Path, *, create: bool = False) -> FlagStore:
    """Opens a store by location: `memory:` (or `:memory:`), a `redis://` or `rediss://` URL,
    else the path of a SQLite file. It must exist unless `create` (a store is created only on
    purpose: see sqlite.py)."""
    if str(location) in ("memory:", ":memory:"):
        return MemoryFlagStore()
    if str(location).startswith(("redis://", "rediss://", "unix://")):
        try:
            from strangler.flags.redis import RedisFlagStore
        except ImportError as exc:  # redis-py: the `redis` extra
            raise FlagStoreError(
                f"a Redis flag store needs redis-py ({exc.name} is not installed):"
                " pip install 'strangler[redis]'"
            ) from None
        return RedisFlagStore(str(location), create=create)
    return SQLiteFlagStore(Path(location), create=create)


def deleted(location: str | Path) -> str | None:
    """Why the store at `location` must not be created anew by a start, or None: a SQLite
    store created there is gone (its note says so: strangler.flags.sqlite). A Redis store keeps
    no note; one that was flushed is noticed by the workers that knew it."""
    if str(location) in ("memory:", ":memory:") or "://" in str(location):
        return None
    path = Path(location)
    note = deleted_store(path)
    if note is None:
        return None
    return (
        f"the flag store {path} is gone, yet {created_note(path)} says one was made there"
        f" ({note}): started now, the gateway would route by a fresh seed table. Put the store"
        f" back (a copy from `strangler flags backup`, to {path}), or begin a new one on purpose"
        " with `strangler serve --init` (or `strangler flags init`)"
    )
