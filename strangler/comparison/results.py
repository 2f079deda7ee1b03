"""What a contract run found: per case, per fuzzed endpoint, and for the whole run."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

from strangler.comparison.cases import Case, Request
from strangler.comparison.ledger import Entry
from strangler.types import Backend


@dataclasses.dataclass(frozen=True)
class Found:
    """One difference in one step of one case: where it is, and both sides' values."""

    case: str
    step: str  # "" for a one-request case, else e.g. "step 2 (login)" or "step 3 #2"
    request: str  # METHOD /path as sent
    where: str  # status, header:NAME, cookie:NAME, set-cookie:NAME, raised, body, a JSON path
    legacy: Any  # the reference's value: the case played on legacy
    migrated: Any  # the other play's value: on migrated, or in a mixed order
    declared: Entry | None = None
    statuses: tuple[int, int] = (0, 0)  # the reference's status and the other play's
    answered_by: Backend = Backend.MIGRATED  # the backend that gave the other play's answer

    @property
    def mixed(self) -> bool:
        """Whether the other play was a mixed order (its step label names the order)."""
        return self.step.startswith("[")


@dataclasses.dataclass
class CaseResult:
    """The outcome of one case: its differences, or why it could not run."""

    case: Case
    differences: list[Found] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)
    raised: list[str] = dataclasses.field(default_factory=list)  # exceptions behind 500s
    uncompared: list[str] = dataclasses.field(default_factory=list)  # setup steps run, by label
    skipped: str | None = None
    compared: int = 0  # request pairs compared (a mixed case compares every order's)
    seconds: float = 0.0

    @property
    def requests(self) -> int:
        """The requests one play of the case sends."""
        return sum(step.repeat for step in self.case.steps)

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
    failure: CaseResult | None = None  # the play of `minimal` that differed
    minimal: Request | None = None
    declared: dict[str, int] = dataclasses.field(default_factory=dict)  # where -> times seen
    entries: Counter[Entry] = dataclasses.field(default_factory=Counter)  # which declared them
    error: str | None = None
    notes: list[str] = dataclasses.field(default_factory=list)  # schemas the generator misread
    compared: int = 0  # request pairs compared over every example (the `before:` steps too)
    seconds: float = 0.0
    wanted: int = 0  # examples asked for
    cut_short: str | None = None  # why a time budget stopped it before `wanted` examples
    unsteady: str | None = None  # why `failure` may depend on state: it did not come back

    @property
    def failed(self) -> bool:
        return self.failure is not None or self.error is not None


@dataclasses.dataclass
class RunResult:
    """Everything a run found, for the reports.

    A run that compared no request at all is not green: "clean" after comparing nothing would be
    a lie. Neither is a run that stopped because a side could not be reached.
    """

    cases: list[CaseResult] = dataclasses.field(default_factory=list)
    fuzz: list[FuzzResult] = dataclasses.field(default_factory=list)
    stale: list[Entry] = dataclasses.field(default_factory=list)
    stale_judged: bool = True  # False in a filtered run: it cannot tell what is stale
    not_fuzzed: dict[str, str] = dataclasses.field(default_factory=dict)  # endpoint: why not
    notes: list[str] = dataclasses.field(default_factory=list)  # said once, at the top
    stopped: str | None = None  # why the run stopped before the end
    selected: str | None = None  # the -k pattern, if any
    adhoc: str | None = None  # why this run is not the canonical one (strangler.comparison.saved)
    seconds: float = 0.0  # from the command's start (its budget's), as --max-time counts
    opening: float = 0.0  # of `seconds`, before the run began: opening the apps
    left_out: list[str] = dataclasses.field(default_factory=list)  # by a time budget

    @property
    def incomplete(self) -> bool:
        """Whether a time budget left something out (cases not run or cut short, endpoints not
        fuzzed or cut short): such a run is never clean, whatever the rest found."""
        return bool(self.left_out)

    @property
    def uncompared(self) -> int:
        """Setup steps the cases ran without comparing them (Case.compared), each counted once
        though it runs in every play, on both sides."""
        return sum(len(c.uncompared) for c in self.cases)

    @property
    def compared(self) -> int:
        """Request pairs compared, in cases and in fuzzing."""
        return sum(c.compared for c in self.cases) + sum(f.compared for f in self.fuzz)

    @property
    def skipped(self) -> int:
        """Requests never compared: of the cases that could not run, or that a stopped run
        did not reach."""
        return sum(c.requests for c in self.cases if c.skipped or not c.compared)

    @property
    def failed(self) -> bool:
        return (
            any(c.failed for c in self.cases)
            or any(f.failed for f in self.fuzz)
            or self.stopped is not None
            or self.compared == 0
        )
