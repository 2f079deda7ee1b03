"""Errors of the flag table: refused changes, and a store that cannot be read or written.

StranglerError
 ├── FlagChangeError          an operator's change was refused; nothing was written
 │    ├── UnknownEndpoint         the route key is not in the inventory
 │    ├── NoMigratedHandler       `migrated`/`canary` for an endpoint migrated does not serve
 │    ├── NoLegacyHandler         `legacy`/`canary` for an endpoint legacy does not serve
 │    └── InvalidFlag             bad mode, percentage out of range, or no reason given
 └── FlagStoreError           the flag store cannot be read or written (I/O, corruption)
      ├── FlagStoreUnreachable    the store's server did not answer (Redis down, the network)
      ├── BadFlagRow              a flag in the store is not one the API would have written
      └── NoInventory             no endpoint inventory published in the store yet
"""

from __future__ import annotations

from strangler.errors import StranglerError


class FlagChangeError(StranglerError):
    """A flag change was refused; the store is unchanged."""

    def __init__(self, message: str, *, endpoint: str | None = None) -> None:
        super().__init__(message)
        self.endpoint = endpoint


class UnknownEndpoint(FlagChangeError):
    """The route key names no endpoint of either app."""


class NoMigratedHandler(FlagChangeError):
    """The endpoint exists only in legacy, so it cannot be routed to migrated."""


class NoLegacyHandler(FlagChangeError):
    """The endpoint exists only in migrated, so it cannot be routed to legacy."""


class InvalidFlag(FlagChangeError):
    """The mode or percentage is not valid, or the change gives no reason."""


class FlagStoreError(StranglerError):
    """The flag store could not be read or written; the message names the store."""


class FlagStoreUnreachable(FlagStoreError):
    """The flag store's server did not answer (down, or the network): it may be back soon."""


class BadFlagRow(FlagStoreError):
    """A flag read from the store is out of range or malformed (written behind its back): the
    table is not used; setting that endpoint's flag again repairs it."""

    def __init__(self, message: str, *, endpoint: str) -> None:
        super().__init__(message)
        self.endpoint = endpoint


class NoInventory(FlagStoreError):
    """The store holds no endpoint inventory: no gateway has started on it, and nobody ran
    `strangler endpoints --publish` (strangler.flags.inventory)."""
