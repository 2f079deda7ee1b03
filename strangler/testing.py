"""Helpers for testing apps behind the gateway; shipped with the code so users can use them too."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from strangler.assembly import runtime_of
from strangler.flags.model import Flag
from strangler.gateway.dispatch import Gateway
from strangler.types import Mode


@contextlib.contextmanager
def override_flags(gateway: Gateway, flags: dict[str, str | tuple[str, float]]) -> Iterator[None]:
    """Sets flags for the duration of a `with` block, then puts the previous ones back.

        with override_flags(gateway, {"GET /health": "migrated", "POST /predict": ("canary", 25)}):
            ...

    The changes go through the gateway's store and audit trail (actor `testing`), and the
    gateway's snapshot is refreshed on entry and exit, so requests see them at once.
    """
    service = runtime_of(gateway).service
    store = service.store
    checked = []
    for key, value in flags.items():
        mode, percentage = (value, None) if isinstance(value, str) else value
        checked.append(service.check(key, mode, percentage))
    before = store.snapshot().flags
    try:
        for endpoint, flag in checked:
            store.set(endpoint.key, flag, actor="testing", reason="override_flags")
        gateway.watcher.refresh()
        yield
    finally:
        for endpoint, _ in checked:
            previous = before.get(endpoint.key, Flag(Mode.LEGACY))
            store.set(endpoint.key, previous, actor="testing", reason="override_flags restored")
        gateway.watcher.refresh()
