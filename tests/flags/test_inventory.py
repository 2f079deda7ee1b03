"""The endpoints a gateway publishes in its flag store, read back by the CLI
(strangler.flags.inventory), in every kind of store."""

from __future__ import annotations

import os
import socket

import pytest

from strangler.flags.errors import FlagStoreError, NoInventory
from strangler.flags.inventory import publish_inventory, published_inventory
from strangler.flags.store import FlagStore, MemoryFlagStore
from strangler.routing.inventory import Endpoint, Inventory
from strangler.types import Backend
from tests.flags.conftest import pair_inventory


def test_the_endpoints_published_are_read_back_as_an_inventory(store: FlagStore) -> None:
    """The inventory a gateway publishes reads back with the same endpoints, keys in either
    template syntax, and when and by which process it was published; the flags' version
    does not move."""
    assert publish_inventory(store, pair_inventory())
    published = published_inventory(store, "the store")
    assert {(e.key, e.served_by) for e in published} == {
        ("GET /items/{item_id}", "both"),
        ("POST /orders", "legacy"),
        ("GET /docs", "migrated"),
    }
    assert published.get("GET /items/<int:id>") == pair_inventory().get("GET /items/{x}")
    assert published.get("GET /nope") is None
    with pytest.raises(ValueError, match="METHOD /path"):
        published.get("items")
    assert published.match("GET", "/items/7") is published.get("GET /items/{item_id}")
    assert (published.host, published.pid) == (socket.gethostname(), os.getpid())
    assert published.at.endswith("+00:00")
    assert store.version() == 0


def test_the_same_endpoints_are_not_published_twice(store: FlagStore) -> None:
    """Publishing what the store holds writes nothing; other endpoints replace the record."""
    assert publish_inventory(store, pair_inventory())
    first = store.inventory()
    assert not publish_inventory(store, pair_inventory())
    assert store.inventory() == first
    fewer = Inventory([Endpoint("GET", "/docs", frozenset({Backend.MIGRATED}))])
    assert publish_inventory(store, fewer)
    assert [e.key for e in published_inventory(store, "the store")] == ["GET /docs"]


def test_a_store_with_nothing_published_says_how_to_publish(store: FlagStore) -> None:
    """Reading the inventory of a store no gateway has published to names both ways to fix it."""
    with pytest.raises(NoInventory) as missing:
        published_inventory(store, "var/flags.db")
    assert "no endpoint inventory in the flag store var/flags.db" in str(missing.value)
    assert "`strangler serve`" in str(missing.value)
    assert "`strangler endpoints --publish`" in str(missing.value)


def test_an_inventory_this_version_cannot_read_says_so_and_is_replaced() -> None:
    """A record that is not JSON, or of another schema, is refused with the way to publish it
    again, and the next publication replaces it."""
    store = MemoryFlagStore()
    for record in ("not json", '{"schema": 2, "endpoints": []}'):
        store.save_inventory(record)
        with pytest.raises(FlagStoreError, match="endpoints --publish") as refused:
            published_inventory(store, "var/flags.db")
        assert "in the flag store var/flags.db is not one this strangler reads" in str(
            refused.value
        )
        assert publish_inventory(store, pair_inventory())
        assert len(published_inventory(store, "var/flags.db")) == 3
