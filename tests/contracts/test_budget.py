"""A contract run's time budget (strangler.contracts.budget) and how fuzzing stops on it (#24)."""

from __future__ import annotations

from pathlib import Path

from strangler.comparison.cases import Case
from strangler.comparison.corpus import CorpusFile
from strangler.comparison.results import CaseResult, Found
from strangler.contracts.budget import Budget, OutOfTime
from strangler.contracts.fuzz import fuzz_endpoint


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_run_is_over_once_max_time_has_passed() -> None:
    """The run's budget says why it is over only after max_time seconds."""
    clock = Clock()
    budget = Budget(max_time=60, clock=clock)
    clock.now += 59.9
    assert budget.run_over() is None
    clock.now += 0.1
    assert budget.run_over() == "the run's time budget (60s)"


def test_an_endpoint_budget_starts_with_each_endpoint() -> None:
    """Each fuzzed endpoint gets max_endpoint_time of its own; the run's budget still counts."""
    clock = Clock()
    budget = Budget(max_time=100, max_endpoint_time=30, clock=clock)
    budget.start_endpoint()
    clock.now += 30
    assert budget.over() == "the endpoint's time budget (30s)"
    budget.start_endpoint()  # the next endpoint
    assert budget.over() is None
    clock.now += 25
    assert budget.over() is None
    clock.now += 45
    assert budget.over() == "the run's time budget (100s)"


def test_a_call_gets_no_more_than_the_budget_left() -> None:
    """A call to the sides may take what is left of the budgets, at most the usual limit."""
    clock = Clock()
    budget = Budget(max_time=60, max_endpoint_time=20, clock=clock)
    assert budget.call_timeout(300) == 60
    budget.start_endpoint()
    clock.now += 5
    assert budget.call_timeout(300) == 15
    assert budget.call_timeout(10) == 10
    clock.now += 100
    assert budget.call_timeout(300) == 0.01  # spent: the call fails at once, as out of time
    assert Budget().call_timeout(300) == 300


def differing(case: Case) -> CaseResult:
    """Both sides differ on every request."""
    return CaseResult(case, differences=[Found(case.name, "", "GET /x", "status", 200, 500)])


def test_fuzzing_cut_short_keeps_the_difference_it_found() -> None:
    """A budget that runs out while a difference is shrunk stops the search at once, and the
    result keeps the smallest failing request found so far and says it was cut short."""
    file = CorpusFile(path=Path("x.yaml"), cases=(), endpoint="GET /x")
    calls = []

    def run(case: Case) -> CaseResult:
        calls.append(case)
        if len(calls) > 2:  # the first difference found and one replay of it
            raise OutOfTime("the endpoint's time budget (1s)")
        return differing(case)

    result = fuzz_endpoint(file, None, run, examples=50, seed=0)
    assert result.cut_short == "the endpoint's time budget (1s)"
    assert len(calls) == 3  # no call after the budget ran out
    assert result.examples == 2  # the cut-off one is not counted
    assert result.wanted == 50
    assert result.minimal is not None
    assert result.failure is not None
    assert result.failure.undeclared


def test_fuzzing_cut_short_before_any_difference_is_not_a_failure() -> None:
    """Out of time with nothing found: cut short, not failed (the run says incomplete)."""
    file = CorpusFile(path=Path("x.yaml"), cases=(), endpoint="GET /x")
    calls = []

    def run(case: Case) -> CaseResult:
        calls.append(case)
        if len(calls) > 2:
            raise OutOfTime("the run's time budget (5s)")
        return CaseResult(case, compared=1)

    result = fuzz_endpoint(file, None, run, examples=50, seed=0)
    assert result.cut_short == "the run's time budget (5s)"
    assert not result.failed
    assert result.examples == 2
