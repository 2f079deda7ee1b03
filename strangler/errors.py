"""The root of the errors strangler raises on purpose, and the settings' error.

Each subpackage keeps its errors in its own `errors` module; together they form this tree, each
top-level class with its module (its subclasses live beside it). tests/test_errors.py holds the
drawing against the real classes: add a line here with each new error.

    StranglerError                  (strangler.errors)
     ├── ConfigError                the settings are missing or wrong
     ├── AdminError                 an admin call failed (strangler.admin.errors)
     │    ├── AdminUnauthorized     a request lacks the admin credential (401)
     │    ├── AdminForbidden        a read credential asked for a change (403)
     │    └── ResetUnavailable      no contract reset hook, or not allowed live (409)
     ├── ClientDisconnected         the client went away; an OSError too (strangler.bridge.errors)
     ├── CorpusError                a corpus or ledger file is wrong (strangler.comparison.errors)
     │    └── CaseProblem           what is wrong in a part of one; a ValueError too
     ├── ContractError              the contract runner cannot run (strangler.contracts.errors)
     │    ├── TargetError           a side fails to start, answer or reset
     │    │    ├── SideUnreachable  a side cannot be reached at all: the run stops
     │    │    └── CaseNotPlayable  one case cannot be played as written: it is skipped
     │    ├── ContractFailure       a pytest item found an undeclared difference
     │    └── ResetRefused          a reset hook not run: a gateway reads the same store
     ├── FlagChangeError            an operator's change was refused (strangler.flags.errors)
     │    ├── UnknownEndpoint       the route key is not in the inventory
     │    ├── NoMigratedHandler     migrated or canary where migrated does not serve
     │    ├── NoLegacyHandler       legacy or canary where legacy does not serve
     │    └── InvalidFlag           a bad mode or percentage, or no reason given
     ├── FlagStoreError             the store cannot be read or written (strangler.flags.errors)
     │    ├── FlagStoreUnreachable  its server does not answer; it may be back soon
     │    ├── NoInventory           no endpoint inventory published in the store yet
     │    └── BadFlagRow            a flag in the store breaks the API's rules
     ├── GatewayError               the request path refused or failed (strangler.gateway.errors)
     │    ├── ForceRefused          the force header without a valid admin token (401)
     │    └── LifespanError         the migrated app's startup or shutdown failed
     ├── RolloutError               a rollout action was refused (strangler.rollout.errors)
     │    ├── InvalidPlan           bad steps, interval, request count or criteria
     │    └── NoRollout             no rollout of that endpoint to pause, resume or abort
     └── SandboxError               a call's effects cannot be held (strangler.sandbox.errors)
          ├── UncoveredDatabase     a sandboxed call opened an engine nobody covered
          └── RollbackCheckFailed   the self-check's write in a sandbox was seen outside it

A routing decision never raises: store faults degrade to the last good snapshot (see
strangler.flags.watcher). A difference between the two apps is a result, never an error.
"""

from __future__ import annotations


class StranglerError(Exception):
    """Base class of every error strangler raises on purpose."""


class ConfigError(StranglerError):
    """The settings are missing or wrong (bad MODULE:ATTR, unknown sticky source, bad file)."""
