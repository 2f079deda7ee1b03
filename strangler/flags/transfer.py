"""Moving a whole flag table to another store (SQLite to Redis, say), its history with it.

    strangler flags export store.json --with-history    # from the store in the settings
    strangler --config new.toml flags import store.json  # into an empty one (`flags init`)

The file is JSON: the table's version, its flags, and every audit entry, oldest first. It goes
only into an empty store (version 0, no history), in one write: the new store then reads as the
old one did, versions, actors, times and reasons included, and every change after it continues
the same trail.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from strangler.errors import ConfigError
from strangler.flags.errors import FlagStoreError
from strangler.flags.model import AuditEntry, Flag
from strangler.flags.store import FlagStore

FORMAT = "strangler-store/1"
EVERYTHING = 10**9  # `history(limit=...)`: all of it


def is_store_file(path: Path) -> bool:
    """Whether `path` is a whole-store export (rather than a flags file)."""
    try:
        head = path.read_text(encoding="utf-8")[:200]
    except OSError:
        return False
    return head.lstrip().startswith("{") and FORMAT in head


def write_store_file(path: Path, store: FlagStore) -> int:
    """Writes the store's version, flags and whole history to `path`; returns the entries."""
    for _ in range(10):  # two reads: again if a change landed between them
        snapshot = store.snapshot()
        history = store.history(None, EVERYTHING)[::-1]
        if max((entry.version for entry in history), default=0) == snapshot.version:
            break
    else:
        raise FlagStoreError("the store kept changing while it was exported; try again")
    data = {
        "format": FORMAT,
        "version": snapshot.version,
        "flags": {key: flag.to_dict() for key, flag in sorted(snapshot.flags.items())},
        "audit": [entry.to_dict() for entry in history],
    }
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return len(history)


def load_store_file(path: Path, store: FlagStore) -> tuple[int, int]:
    """Loads an export into the empty `store`; returns (flags, audit entries) loaded."""
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} file")
        flags = {str(k): Flag.from_dict(v) for k, v in data["flags"].items()}
        audit = [_entry(item) for item in data["audit"]]
        version = int(data["version"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"cannot read the store export {path}: {exc}") from exc
    if max((entry.version for entry in audit), default=0) != version:
        raise ConfigError(
            f"{path}: its history does not end at its version {version}: an export written"
            " while the store changed; export again"
        )
    if store.version() != 0 or store.history(None, 1):
        raise FlagStoreError(
            "the store to import into has flags or history already: a whole-store import goes"
            " into an empty store (`strangler flags init` a new one); to merge flags only, export"
            " without --with-history"
        )
    store.load(version, flags, audit)
    return len(flags), len(audit)


def _entry(item: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        id=int(item["id"]),
        at=str(item["at"]),
        actor=str(item["actor"]),
        endpoint=str(item["endpoint"]),
        before=Flag.from_dict(item["before"]) if item.get("before") else None,
        after=Flag.from_dict(item["after"]),
        reason=str(item["reason"]),
        version=int(item["version"]),
    )
