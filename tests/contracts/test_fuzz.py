"""Differential fuzzing of one endpoint (strangler.contracts.fuzz)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from strangler.comparison.cases import Case, Request, Step
from strangler.comparison.corpus import CorpusFile
from strangler.comparison.results import CaseResult, Found
from strangler.contracts import fuzz
from strangler.contracts.errors import TargetError
from strangler.contracts.fuzz import fuzz_endpoint
from strangler.contracts.runner import Played, Primed
from strangler.types import Backend


def test_fuzzing_goes_on_past_an_unusable_schema_and_reports_it() -> None:
    """The fuzzer sends every example for an endpoint whose schema has no valid value, and
    its result carries the note."""
    document = {
        "openapi": "3.1.0",
        "paths": {
            "/chain": {
                "post": {
                    "requestBody": {
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/C"}}
                        }
                    }
                }
            }
        },
        "components": {
            "schemas": {
                "C": {
                    "type": "object",
                    "properties": {"next": {"$ref": "#/components/schemas/C"}},
                    "required": ["next"],
                }
            }
        },
    }
    file = CorpusFile(path=Path("chain.yaml"), cases=(), endpoint="POST /chain")

    def run(case: Case) -> CaseResult:
        return CaseResult(case)  # both sides alike

    result = fuzz_endpoint(file, document, run, examples=20, seed=0)
    assert result.examples == 20
    assert not result.failed
    assert any("no value satisfies it" in note for note in result.notes), result.notes


def test_the_shrunk_example_carries_one_cause(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where Hypothesis's minimal example still carries a doubled Content-Type that is not the
    cause beside a bad field that is, the reported request keeps only the bad field (#24)."""
    defaults = Request("POST", "/items", {"Authorization": "Token t"})
    two_causes = Request(
        "POST",
        "/items",
        {"Authorization": "Token t", "Content-Type": ["application/json"] * 2},
        json={"name": "pen", "qty": -1},
    )
    file = CorpusFile(Path("items.yaml"), (), endpoint="POST /items", defaults=defaults)

    def run(case: Case) -> CaseResult:
        request = case.steps[-1].request
        result = CaseResult(case, compared=1)
        if isinstance(request.json, dict) and request.json.get("qty") == -1:
            result.differences.append(Found(case.name, "", request.target, "status", 422, 500))
        return result

    def find(strategy: object, condition: Callable[[Request], bool], **kwargs: object) -> Request:
        assert condition(two_causes), "find's last play is of the example it returns"
        return two_causes

    monkeypatch.setattr(fuzz, "find", find)
    result = fuzz.fuzz_endpoint(file, None, run, examples=5, seed=0)
    assert result.minimal is not None
    assert result.minimal.headers == {"Authorization": "Token t"}
    assert result.minimal.json == {"qty": -1}
    assert result.failure is not None
    assert [d.where for d in result.failure.undeclared] == ["status"]


def test_a_once_setup_is_played_once_and_every_example_starts_from_it() -> None:
    """With `before: {once: true}`, the setup is primed once; each example is its request alone,
    played from the primed setup."""
    login = Step(Request("POST", "/login"), capture={"token": "$.token"})
    file = CorpusFile(
        Path("items.yaml"), (), endpoint="POST /items", before=(login,), before_once=True
    )
    primed_with: list[Case] = []
    examples: list[tuple[Case, object]] = []
    setup_play = {Backend.LEGACY: Played((Backend.LEGACY,), variables={"token": "t"})}

    def prime(setup: Case) -> Primed:
        primed_with.append(setup)
        return setup_play

    def run(case: Case, primed: Primed | None = None) -> CaseResult:
        examples.append((case, primed))
        return CaseResult(case, compared=1)

    result = fuzz.fuzz_endpoint(file, None, run, examples=8, seed=0, prime=prime)
    assert [case.steps for case in primed_with] == [(login,)]
    assert len(examples) == result.examples == 8
    assert all(len(case.steps) == 1 and primed is setup_play for case, primed in examples)


def test_a_once_setup_that_fails_stops_the_fuzzing_of_its_endpoint() -> None:
    """A setup whose capture found nothing: nothing is fuzzed, and the result says why."""
    login = Step(Request("POST", "/login"), capture={"token": "$.token"})
    file = CorpusFile(
        Path("items.yaml"), (), endpoint="POST /items", before=(login,), before_once=True
    )
    broken = Played((Backend.LEGACY,), errors=["step 1 on legacy: capture 'token' found nothing"])

    def run(case: Case, primed: Primed | None = None) -> CaseResult:
        raise AssertionError("no example is played")

    result = fuzz.fuzz_endpoint(
        file, None, run, examples=8, seed=0, prime=lambda setup: {Backend.LEGACY: broken}
    )
    assert result.failed
    assert result.error is not None
    assert "capture 'token' found nothing" in result.error


def deleting(plays_that_differ: int) -> tuple[CorpusFile, fuzz.RunCase]:
    """An endpoint and a run that share one database with no reset between plays, as a live
    gateway that refuses its reset: a request differs the first `plays_that_differ` times it is
    played (legacy deletes the row, then the port finds it gone) and never again."""
    file = CorpusFile(Path("delete.yaml"), (), endpoint="POST /{id}/delete")
    played: dict[str, int] = {}

    def run(case: Case, primed: Primed | None = None) -> CaseResult:
        target = case.steps[-1].request.target
        played[target] = played.get(target, 0) + 1
        result = CaseResult(case, compared=1)
        if played[target] <= plays_that_differ:
            result.differences.append(Found(case.name, "", target, "status", 302, 404))
        return result

    return file, run


def test_a_difference_that_does_not_come_back_on_replay_is_reported_not_raised() -> None:
    """A difference Hypothesis cannot replay (state changed between plays) is the endpoint's
    failure, with the request that showed it and a note that it may depend on state (#24)."""
    file, run = deleting(plays_that_differ=1)
    result = fuzz.fuzz_endpoint(file, None, run, examples=10, seed=0)
    assert result.failed
    assert result.error is None
    assert result.failure is not None
    assert [d.where for d in result.failure.undeclared] == ["status"]
    assert result.minimal is not None
    assert result.minimal.target == result.failure.case.steps[-1].request.target
    assert result.unsteady is not None
    assert "may depend on state" in result.unsteady


def test_a_difference_gone_after_hypothesis_replayed_it_is_still_reported() -> None:
    """A difference Hypothesis replays but that is gone when played once more is reported
    with the play that showed it, never as a failure without a difference (#24)."""
    file, run = deleting(plays_that_differ=3)
    result = fuzz.fuzz_endpoint(file, None, run, examples=10, seed=0)
    assert result.failure is not None
    assert [d.where for d in result.failure.undeclared] == ["status"]
    assert result.minimal is not None
    assert result.minimal.target == result.failure.case.steps[-1].request.target


def test_an_error_that_does_not_come_back_on_replay_is_raised_as_itself() -> None:
    """A side that failed once and answered on replay is raised as its own error, which the
    suite reports as the endpoint's, not as a Hypothesis flaky failure (#24)."""
    file = CorpusFile(Path("x.yaml"), (), endpoint="GET /x")
    calls: list[Case] = []

    def run(case: Case, primed: Primed | None = None) -> CaseResult:
        calls.append(case)
        if len(calls) == 1:
            raise TargetError("GET /x to migrated: ReadTimeout")
        return CaseResult(case, compared=1)

    with pytest.raises(TargetError, match="ReadTimeout"):
        fuzz.fuzz_endpoint(file, None, run, examples=5, seed=0)
