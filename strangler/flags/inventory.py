"""The endpoints a flag change is checked against, and their record in the flag store.

A gateway knows its endpoints from the apps themselves (strangler.routing.inventory). It records
them in its flag store when it starts, so the commands that only read and change flags
(`strangler flags set`, `rollout`, `status`...) check names against that record instead of
importing both apps: an operator rolling back needs neither the apps nor their drivers.

    Endpoints            what FlagService needs: get(key), match, iteration, len
    Route                what it reads of one endpoint: key, method, template, backends, served_by
    PublishedInventory   the record read back from a store (satisfies Endpoints, as routing's
                         Inventory does)

The record is one JSON document, rewritten whole (only when the endpoints differ from it):

    {"schema": 1, "at": "2026-11-24T03:12:09+00:00", "host": "web-3", "pid": 4711,
     "endpoints": [{"method": "GET", "template": "/items/{item_id}",
                    "backends": ["legacy", "migrated"]}, ...]}
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from strangler.flags.errors import FlagStoreError, NoInventory
from strangler.flags.model import utc_now
from strangler.flags.store import FlagStore
from strangler.routing.inventory import Endpoint
from strangler.routing.templates import parse_route_key, template_regex, template_shape
from strangler.types import Backend

log = logging.getLogger("strangler.flags")

SCHEMA = 1


class Route(Protocol):
    """One endpoint, as the flag service reads it."""

    @property
    def key(self) -> str: ...

    @property
    def method(self) -> str: ...

    @property
    def template(self) -> str: ...

    @property
    def backends(self) -> frozenset[Backend]: ...

    @property
    def served_by(self) -> str: ...


class Endpoints(Protocol):
    """The endpoints a flag change is checked against."""

    def get(self, key: str) -> Route | None:
        """The endpoint of a route key written in either template syntax (`GET /items/<id>`
        names `GET /items/{item_id}`); None if no app serves it; ValueError if `key` is not
        `METHOD /path`."""
        ...

    def match(self, method: str, path: str) -> Route | None:
        """The endpoint a request for `path` reaches, or None."""
        ...

    def __iter__(self) -> Iterator[Route]: ...

    def __len__(self) -> int: ...


class PublishedInventory:
    """The endpoints as a gateway published them in the store, and when and by whom."""

    def __init__(self, endpoints: Iterable[Endpoint], at: str, host: str, pid: int) -> None:
        self.endpoints = tuple(endpoints)
        self.at = at  # ISO 8601, UTC
        self.host = host
        self.pid = pid
        self._by_shape = {(e.method, template_shape(e.template)): e for e in self.endpoints}
        self._dynamic = [
            (e.method, template_regex(e.template), e) for e in self.endpoints if "{" in e.template
        ]

    def get(self, key: str) -> Endpoint | None:
        method, template = parse_route_key(key)
        return self._by_shape.get((method, template_shape(template)))

    def match(self, method: str, path: str) -> Endpoint | None:
        """A fixed template first, then the first parameterised one that matches (without the
        legacy app's own router, which only the gateway has)."""
        found = self._by_shape.get((method, path))
        if found is not None:
            return found
        return next((e for m, regex, e in self._dynamic if m == method and regex.match(path)), None)

    def __iter__(self) -> Iterator[Endpoint]:
        return iter(self.endpoints)

    def __len__(self) -> int:
        return len(self.endpoints)

    @property
    def described(self) -> str:
        """Where it came from, for operators: `published 2026-11-24 03:12:09 UTC by web-3
        (pid 4711)`."""
        when = self.at.replace("T", " ").partition(".")[0].removesuffix("+00:00")
        return f"published {when} UTC by {self.host} (pid {self.pid})"


def _rows(endpoints: Iterable[Route]) -> list[dict[str, Any]]:
    """The endpoints as the record keeps them, in a stable order (to compare records)."""
    rows = [
        {
            "method": e.method,
            "template": e.template,
            "backends": sorted(b.value for b in e.backends),
        }
        for e in endpoints
    ]
    return sorted(rows, key=lambda row: (row["template"], row["method"]))


def _document(store: FlagStore, where: str = "") -> dict[str, Any] | None:
    """The record in `store`, or None; FlagStoreError if it is not one this version reads."""
    text = store.inventory()
    if text is None:
        return None
    try:
        document = json.loads(text)
        schema = document.get("schema") if isinstance(document, dict) else None
    except ValueError:
        schema = "not JSON"
    if schema != SCHEMA:
        place = f"the flag store {where}" if where else "the flag store"
        raise FlagStoreError(
            f"the endpoint inventory in {place} is not one this strangler reads (schema"
            f" {schema!r}, not {SCHEMA}): publish it again, `strangler endpoints --publish`"
        )
    return dict(document)


def published_inventory(store: FlagStore, where: str) -> PublishedInventory:
    """The inventory last published in `store` (named `where` in the error); NoInventory
    saying how to publish one if there is none."""
    document = _document(store, where)
    if document is None:
        raise NoInventory(
            f"no endpoint inventory in the flag store {where}: start the gateway on it once"
            " (`strangler serve`), or run `strangler endpoints --publish` where both apps can"
            " be imported"
        )
    try:
        endpoints = tuple(
            Endpoint(row["method"], row["template"], frozenset(map(Backend, row["backends"])))
            for row in document["endpoints"]
        )
        return PublishedInventory(
            endpoints, str(document["at"]), str(document["host"]), int(document["pid"])
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise FlagStoreError(
            f"the endpoint inventory in the flag store {where} cannot be read: {exc!r}"
        ) from None


def publish_inventory(store: FlagStore, endpoints: Endpoints, *, force: bool = False) -> bool:
    """Records `endpoints` in `store`, stamped with this host, process and time, unless it
    holds the same endpoints already (or `force`); True if it wrote them."""
    rows = _rows(endpoints)
    if not force:
        try:
            current = _document(store)
        except FlagStoreError:
            current = None  # unreadable: replace it
        if current is not None and current.get("endpoints") == rows:
            return False
    document = {
        "schema": SCHEMA,
        "at": utc_now(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "endpoints": rows,
    }
    store.save_inventory(json.dumps(document))
    return True


def publish_quietly(store: FlagStore, endpoints: Endpoints) -> None:
    """`publish_inventory` as a gateway calls it at startup: a fault is logged, never raised
    (the gateway serves regardless; the commands then say the inventory is missing)."""
    try:
        if publish_inventory(store, endpoints):
            log.info("published %d endpoint(s) to the flag store", len(endpoints))
    except Exception as exc:
        log.warning("could not publish the endpoint inventory to the flag store: %s", exc)
