"""Fixtures of the flag table's tests: a store of each kind, for what every store must do, and a
small inventory to publish in one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from strangler.flags.store import FlagStore, MemoryFlagStore, open_store
from strangler.routing.inventory import Endpoint, Inventory
from strangler.types import Backend
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
