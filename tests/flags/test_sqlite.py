"""The SQLite flag store (strangler.flags.sqlite): shadow settings kept, an older file migrated."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from strangler.flags.model import Flag
from strangler.flags.sqlite import SQLiteFlagStore
from strangler.types import Mode

OLD_SCHEMA = """
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
        conn.executescript(OLD_SCHEMA)
    readonly = SQLiteFlagStore(path, readonly=True)
    assert readonly.snapshot().flags["GET /hello"] == Flag(Mode.MIGRATED, 100.0)
    store = SQLiteFlagStore(path)
    assert store.snapshot().flags["GET /hello"] == Flag(Mode.MIGRATED, 100.0)
    store.set("GET /hello", Flag(Mode.MIGRATED, 100.0, shadow=5.0), actor="a", reason="r")
    assert store.snapshot().flags["GET /hello"].shadow == 5.0
