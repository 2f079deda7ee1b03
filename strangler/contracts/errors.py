"""Errors of the contract runner. A difference between the apps is a result, never one of these.

StranglerError
 └── ContractError            the contract runner cannot do its job
      ├── CorpusError             a corpus or ledger file is invalid (names the file and case)
      │    └── CaseProblem            raised while one case is read; becomes a CorpusError
      │                               naming its file
      ├── TargetError             a side cannot be reached, or the wrong backend answered
      └── ContractFailure         a pytest contract item found an undeclared difference
"""

from __future__ import annotations

from strangler.errors import StranglerError


class ContractError(StranglerError):
    """The contract runner cannot do its job; differences between the apps are results, not this."""


class CorpusError(ContractError):
    """A corpus or ledger file is invalid; the message names the file (and case) to fix."""


class CaseProblem(CorpusError, ValueError):
    """What is wrong in a part of a corpus file; the loader adds the file's name and re-raises.
    A ValueError too, so a step's reader can prefix it with the step, as it does parse errors."""

    def __init__(self, message: str, case: str | None = None) -> None:
        super().__init__(message)
        self.case = case


class TargetError(ContractError):
    """A side of a contract run could not be reached, or the wrong backend answered."""


class SideUnreachable(TargetError):
    """A side cannot be reached at all (or answers through the wrong backend): every case would
    fail alike, so the run stops, and the reports say where it stopped."""


class ContractFailure(ContractError):
    """Raised by a pytest contract item whose sides differ in a way the ledger does not declare."""

    def __init__(self, report: str) -> None:
        super().__init__(report)
        self.report = report
