"""Errors of the contract runner. A difference between the apps is a result, never one of these;
a corpus file that cannot be read raises strangler.comparison.errors.CorpusError.

StranglerError
 └── ContractError            the contract runner cannot do its job
      ├── TargetError             a side fails to start, answer in time or reset
      │    ├── SideUnreachable    a side cannot be reached at all, or the wrong backend answered
      │    └── CaseNotPlayable    this case cannot be played as written here: skipped, run goes on
      ├── ResetRefused            the reset hook would wipe a database a live gateway serves
      └── ContractFailure         a pytest contract item found an undeclared difference
"""

from __future__ import annotations

from strangler.errors import StranglerError


class ContractError(StranglerError):
    """The contract runner cannot do its job; differences between the apps are results, not this."""


class TargetError(ContractError):
    """A side of a contract run could not be reached, or the wrong backend answered."""


class SideUnreachable(TargetError):
    """A side cannot be reached at all (or answers through the wrong backend): every case would
    fail alike, so the run stops, and the reports say where it stopped."""


class CaseNotPlayable(TargetError):
    """One case cannot be played as written on this target (a request the live transport
    cannot send, a reset the play may not have reached): the case is skipped with this reason,
    never counted as passed, and the run goes on."""


class ResetRefused(ContractError):
    """The reset hook was not run: a gateway built from the same settings reads the same flag
    store, so it likely serves from the database the hook would wipe (see reset_guard)."""


class ContractFailure(ContractError):
    """Raised by a pytest contract item whose sides differ in a way the ledger does not declare."""

    def __init__(self, report: str) -> None:
        super().__init__(report)
        self.report = report
