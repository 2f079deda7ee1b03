"""Errors of the comparison core: a corpus or ledger file that cannot be read as written.

A difference between two answers is a result, never one of these.
"""

from __future__ import annotations

from strangler.errors import StranglerError


class CorpusError(StranglerError):
    """A corpus or ledger file is invalid; the message names the file (and case) to fix."""


class CaseProblem(CorpusError, ValueError):
    """What is wrong in a part of a corpus file; the loader adds the file's name and re-raises.
    A ValueError too, so a step's reader can prefix it with the step, as it does parse errors."""

    def __init__(self, message: str, case: str | None = None) -> None:
        super().__init__(message)
        self.case = case
