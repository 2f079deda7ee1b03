"""The root of the errors strangler raises on purpose, and the settings' error.

Each subpackage keeps its errors in its own `errors` module; together they form this tree:

    StranglerError
     ├── ConfigError              settings missing or wrong (here)
     ├── FlagChangeError          an operator's change was refused   (strangler.flags.errors)
     ├── FlagStoreError           the flag store cannot be read      (strangler.flags.errors)
     ├── AdminError               a remote admin call failed         (strangler.admin.errors)
     ├── AdminUnauthorized        a request lacks the admin credential (strangler.admin.errors)
     ├── GatewayError             the request path refused or failed (strangler.gateway.errors)
     ├── ClientDisconnected       the client left mid-exchange       (strangler.bridge.errors)
     ├── RolloutError             a rollout action was refused       (strangler.rollout.errors)
     └── ContractError            the contract runner cannot run     (strangler.contracts.errors)

A routing decision never raises: store faults degrade to the last good snapshot (see
strangler.flags.watcher).
"""

from __future__ import annotations


class StranglerError(Exception):
    """Base class of every error strangler raises on purpose."""


class ConfigError(StranglerError):
    """The settings are missing or wrong (bad MODULE:ATTR, unknown sticky source, bad file)."""
