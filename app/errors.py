"""Errors the gateway raises, each saying what went wrong and how to fix it.

    StranglerError
     ├── ConfigError            settings missing or wrong (bad MODULE:ATTR, unknown sticky source)
     ├── FlagChangeError        an operator's change was refused; nothing was written
     │    ├── UnknownEndpoint       the route key is not in the inventory
     │    ├── NoMigratedHandler     `migrated`/`canary` for an endpoint migrated does not serve
     │    ├── NoLegacyHandler       `legacy`/`canary` for an endpoint legacy does not serve
     │    └── InvalidFlag           bad mode or percentage out of range
     ├── FlagStoreError         the flag store cannot be read or written (I/O, corruption)
     ├── AdminError             a remote admin call failed (unreachable gateway, 401, bad answer)
     └── ContractError          the contract runner cannot run (not: a difference was found)
          ├── CorpusError           a corpus or ledger file is invalid (names the file and case)
          └── TargetError           a side cannot be reached or answered through the wrong backend

A routing decision never raises: store faults degrade to the last good snapshot (see watcher.py).
"""

from __future__ import annotations


class StranglerError(Exception):
    """Base class of every error the gateway raises on purpose."""


class ConfigError(StranglerError):
    """The settings are missing or wrong."""


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
    """The mode or percentage is not valid."""


class FlagStoreError(StranglerError):
    """The flag store could not be read or written."""


class AdminError(StranglerError):
    """A call to a running gateway's admin API failed."""


class ContractError(StranglerError):
    """The contract runner cannot do its job; differences between the apps are results, not this."""


class CorpusError(ContractError):
    """A corpus or ledger file is invalid; the message names the file (and case) to fix."""


class TargetError(ContractError):
    """A side of a contract run could not be reached, or the wrong backend answered."""
