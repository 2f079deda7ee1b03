"""What a contract run found: per case, per fuzzed endpoint, and for the whole run."""

from __future__ import annotations

import dataclasses
from typing import Any

from strangler.contracts.cases import Case, Request
from strangler.contracts.ledger import Entry


@dataclasses.dataclass(frozen=True)
class Found:
    """One difference in one step of one case: where it is, and both sides' values."""

    case: str
    step: str  # "" for a one-request case, else e.g. "step 2 (login)" or "step 3 #2"
    request: str  # METHOD /path as sent
    where: str  # status, header:NAME, body, or a JSON path
    legacy: Any
    migrated: Any
    declared: Entry | None = None


@dataclasses.dataclass
class CaseResult:
    """The outcome of one case: its differences, or why it could not run."""

    case: Case
    differences: list[Found] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)
    skipped: str | None = None
    seconds: float = 0.0

    @property
    def undeclared(self) -> list[Found]:
        return [d for d in self.differences if d.declared is None]

    @property
    def declared(self) -> list[Found]:
        return [d for d in self.differences if d.declared is not None]

    @property
    def failed(self) -> bool:
        return bool(self.errors or self.undeclared)


@dataclasses.dataclass
class FuzzResult:
    """The outcome of fuzzing one endpoint: examples tried, and the minimal failure if any."""

    endpoint: str
    examples: int = 0
    seed: int = 0
    failure: CaseResult | None = None  # the shrunk example that still differs
    minimal: Request | None = None
    declared: dict[str, int] = dataclasses.field(default_factory=dict)  # where -> times seen
    error: str | None = None
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.failure is not None or self.error is not None


@dataclasses.dataclass
class RunResult:
    """Everything a run found, for the reports."""

    cases: list[CaseResult] = dataclasses.field(default_factory=list)
    fuzz: list[FuzzResult] = dataclasses.field(default_factory=list)
    stale: list[Entry] = dataclasses.field(default_factory=list)
    not_fuzzed: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return any(c.failed for c in self.cases) or any(f.failed for f in self.fuzz)
