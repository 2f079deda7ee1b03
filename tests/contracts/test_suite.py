"""Verdicts do not depend on order: the corpus forwards and backwards gives the same results.

Each case starts with an empty cookie jar on each side (and from fresh state where there is a
reset hook), so nothing one case leaves behind reaches the next.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click
import pytest

from strangler.comparison.corpus import CorpusFile, FuzzSpec, corpus_files
from strangler.comparison.results import RunResult
from strangler.contracts import ContractSession, load_corpus, load_ledger, run_suite
from strangler.contracts.budget import Budget
from strangler.contracts.formats import terminal
from strangler.contracts.suite import Unwatched
from strangler.settings import load_settings
from tests.support.servers import REPO

PAIRS = [
    pytest.param(REPO / "pyproject.toml", id="worked-example"),
    pytest.param(REPO / "tests/test_apps/contract_pair/strangler.toml", id="shop-pair"),
    pytest.param(REPO / "tests/test_apps/accounts/strangler.toml", id="accounts-no-reset"),
]


def verdicts(run: RunResult) -> dict[str, tuple[bool, list[tuple[str, str]]]]:
    """Per case: whether it failed, and where it differed."""
    return {
        c.case.name: (c.failed, sorted((d.step, d.where) for d in c.differences)) for c in run.cases
    }


def backwards(files: list[CorpusFile]) -> list[CorpusFile]:
    return [dataclasses.replace(f, cases=f.cases[::-1]) for f in files[::-1]]


@pytest.mark.usefixtures("example_env")
@pytest.mark.parametrize("config", PAIRS)
def test_the_corpus_gives_the_same_verdicts_in_either_order(config: Path) -> None:
    """Every case's verdict and differences are the same forwards and backwards."""
    settings = load_settings(config)
    files = load_corpus(corpus_files(settings.contracts_path, settings.ledger_path))
    runs = []
    for ordered in (files, backwards(files)):
        ledger = load_ledger(settings.ledger_path)
        with ContractSession.in_process(settings, ledger) as session:
            runs.append(run_suite(session, ordered, fuzz=False))
    forwards, reverse = runs
    assert list(verdicts(forwards)) != list(verdicts(reverse))  # the order did change
    assert verdicts(forwards) == verdicts(reverse)
    assert forwards.compared == reverse.compared > 0


def test_an_endpoint_whose_file_turns_fuzzing_off_is_not_fuzzed_for_that_reason() -> None:
    """An endpoint left unfuzzed by its file's `fuzz: false` is reported as turned off by that
    file, named; one no file names is reported as having no corpus file (#24)."""
    settings = load_settings(REPO / "tests/test_apps/contract_pair/strangler.toml")
    files = load_corpus(corpus_files(settings.contracts_path, settings.ledger_path))
    read = next(f for f in files if f.endpoint == "GET /items/{item_id}")
    off = dataclasses.replace(read, cases=(), fuzz=FuzzSpec(enabled=False))
    with ContractSession.in_process(settings, load_ledger(settings.ledger_path)) as session:
        run = run_suite(session, [off], fuzz=True)
    said: list[str] = []
    terminal(run, said.append)
    lines = [click.unstyle(line) for line in said if "NOT FUZZED" in line]
    assert (
        f"NOT FUZZED GET /items/{{item_id}}: fuzzing turned off by `fuzz:` in {read.path}" in lines
    )
    assert "NOT FUZZED POST /items: no corpus file says `endpoint: POST /items`" in lines


class Idle:
    """A session with nothing to say: no case or endpoint is run in these tests."""

    def not_fresh(self) -> None:
        return None


def test_a_runs_time_counts_from_the_budgets_start_opening_the_apps_included() -> None:
    """A run's seconds count from when its budget began (the command's start, before the apps
    were opened), as --max-time and the progress clock do; the time before the run began is
    kept as the opening of the apps (#24: the summary said 2 s of a 5 s command)."""
    now = [100.0]
    budget = Budget(clock=lambda: now[0])  # the command starts at 100 s
    now[0] = 103.0  # 3 s to open the apps

    class Slow(Unwatched):
        def planned(self, cases: int, endpoints: int) -> None:
            now[0] += 2.0  # the run itself takes 2 s

    run = run_suite(Idle(), [], fuzz=False, watch=Slow(), budget=budget)  # type: ignore[arg-type]
    assert (run.seconds, run.opening) == (5.0, 3.0)
