"""Backing up a SQLite flag store, and restoring its flags into a live one.

A backup is SQLite's online backup of the whole file, WAL included (copying the .db alone misses
what is still in the -wal, and copying a .db back beside a stale -wal has no effect). A restore
does not swap files under running workers: it sets the live store's flags to the backup's, each
change audited like any other (the audit trail is kept), so every worker follows within a poll.
"""

from __future__ import annotations

from pathlib import Path

from strangler.flags.errors import FlagStoreError
from strangler.flags.model import AuditEntry
from strangler.flags.service import FlagEntry, FlagService
from strangler.flags.sqlite import SQLiteFlagStore
from strangler.types import Backend, Mode


def backup_store(store: object, destination: Path) -> None:
    """Writes a consistent copy of a SQLite store to the new file `destination`."""
    if not isinstance(store, SQLiteFlagStore):
        raise FlagStoreError("only a SQLite flag store can be backed up to a file")
    store.backup(destination)


def restore_flags(
    service: FlagService, backup: Path, *, actor: str, reason: str
) -> list[AuditEntry]:
    """Sets the live store's flags to those of `backup`; endpoints the backup has no flag for
    go back to their default (legacy, or the one app that serves them). Checked whole before
    anything is written; the changes are written one by one, each audited."""
    source = SQLiteFlagStore(backup, readonly=True)  # reading a backup writes nothing to it
    try:
        snapshot = source.snapshot()
    finally:
        source.close()
    wanted = {
        key: FlagEntry(
            flag.mode.value,
            flag.percentage if flag.mode is Mode.CANARY else None,
            flag.shadow,
            flag.side_effect_free,
            [str(segment) for segment in flag.segments],  # none: none, not the live ones
        )
        for key, flag in snapshot.flags.items()
    }
    for key in service.store.snapshot().flags:
        if key not in wanted:  # no flag in the backup: the endpoint's default routing
            endpoint = service.endpoint(key)
            default = next(iter(endpoint.backends)) if len(endpoint.backends) == 1 else None
            wanted[key] = FlagEntry((default or Backend.LEGACY).value, None, 0.0, None, [])
    why = f"restored from {backup.name} (version {snapshot.version}): {reason}"
    return service.apply(wanted, actor=actor, reason=why, source=str(backup))
