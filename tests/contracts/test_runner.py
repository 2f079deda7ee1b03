"""Replaying a case on both sides: captures, repeats, resets, and the ledger."""

from __future__ import annotations

import json

from strangler.contracts.cases import Case, Request, Step
from strangler.contracts.compare import Answer
from strangler.contracts.ledger import Entry, Ledger
from strangler.contracts.runner import run_case
from strangler.types import Backend


class FakeSide:
    """A Target whose answers come from a function; counts requests since the last reset."""

    def __init__(self, backend: Backend, answer: object, *, can_reset: bool = True) -> None:
        self.backend = backend
        self._answer = answer
        self._can_reset = can_reset
        self.sent: list[Request] = []
        self.count = 0

    @property
    def can_reset(self) -> bool:
        return self._can_reset

    async def reset(self) -> None:
        self.count = 0

    async def send(self, request: Request) -> Answer:
        self.sent.append(request)
        self.count += 1
        body = self._answer(request, self.count)  # type: ignore[operator]
        return Answer(200, (("content-type", "application/json"),), json.dumps(body).encode())


def counter(request: Request, count: int) -> object:
    return {"token": "t-123", "count": count, "path": request.path}


LOGIN = Step(Request("POST", "/login"), capture={"token": "$.token"})


async def test_captures_are_substituted_in_later_steps() -> None:
    """A value captured from one answer is sent in the next request, on each side."""
    legacy, migrated = FakeSide(Backend.LEGACY, counter), FakeSide(Backend.MIGRATED, counter)
    case = Case("c", (LOGIN, Step(Request("GET", "/items/${token}", {"X": "Bearer ${token}"}))))
    result = await run_case(case, legacy, migrated, Ledger())
    assert not result.failed
    assert legacy.sent[1].path == "/items/t-123"
    assert migrated.sent[1].headers == {"X": "Bearer t-123"}


async def test_each_side_starts_from_fresh_state() -> None:
    """The reset runs before each side, so counters (caches) line up."""
    legacy, migrated = FakeSide(Backend.LEGACY, counter), FakeSide(Backend.MIGRATED, counter)
    case = Case("c", (Step(Request("GET", "/n"), repeat=3),), stateful=True)
    result = await run_case(case, legacy, migrated, Ledger())
    assert result.differences == []
    assert len(migrated.sent) == 3


async def test_differences_name_the_step_and_the_ledger_declares_them() -> None:
    """A difference names its step; one the ledger covers is declared and does not fail."""

    def off_by_one(request: Request, count: int) -> object:
        return {"token": "t-123", "count": count + 1, "path": request.path}

    case = Case("c", (LOGIN, Step(Request("GET", "/n"), repeat=2)))
    legacy, migrated = FakeSide(Backend.LEGACY, counter), FakeSide(Backend.MIGRATED, off_by_one)
    result = await run_case(case, legacy, migrated, Ledger())
    assert [(d.step, d.where, d.legacy, d.migrated) for d in result.differences][-1] == (
        "step 2 #2",
        "$.count",
        3,
        4,
    )
    assert result.failed
    ledger = Ledger([Entry(why="known", case="c", where="$.count")])
    declared = await run_case(case, legacy, migrated, ledger)
    assert not declared.failed
    assert len(declared.declared) == 3


async def test_a_capture_that_finds_nothing_fails_the_case() -> None:
    """A capture path that names nothing is an error, not a silent empty string."""
    side = FakeSide(Backend.LEGACY, lambda r, n: {})
    other = FakeSide(Backend.MIGRATED, lambda r, n: {})
    case = Case("c", (LOGIN, Step(Request("GET", "/x/${token}"))))
    result = await run_case(case, side, other, Ledger())
    assert result.failed
    assert any("capture 'token' found nothing at $.token" in e for e in result.errors)


async def test_stateful_cases_are_skipped_where_state_cannot_be_reset() -> None:
    """Without a reset hook (a live gateway), a stateful case is skipped with the reason."""
    legacy = FakeSide(Backend.LEGACY, counter, can_reset=False)
    migrated = FakeSide(Backend.MIGRATED, counter, can_reset=False)
    case = Case("c", (Step(Request("GET", "/n")),), stateful=True)
    result = await run_case(case, legacy, migrated, Ledger())
    assert result.skipped
    assert "reset" in result.skipped
    assert legacy.sent == []
