"""Setup steps on a real pair (#24, tests/test_apps/setup_pair): steps pinned to legacy before any
other step run in every play and are not compared; a `before: {once: true}` is played once per
fuzzed endpoint, not once per example."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from strangler.assembly import comparison_rules
from strangler.comparison.corpus import CorpusFile, corpus_files
from strangler.contracts import ContractSession, load_corpus, load_ledger, run_suite
from strangler.contracts.suite import fuzz_file
from strangler.settings import Settings, load_settings
from tests.support.servers import REPO
from tests.test_apps.setup_pair import store

CONFIG = REPO / "tests" / "test_apps" / "setup_pair" / "strangler.toml"


@pytest.fixture
def settings() -> Settings:
    return load_settings(CONFIG)


@pytest.fixture
def files(settings: Settings) -> list[CorpusFile]:
    paths = corpus_files(settings.contracts_path, settings.ledger_path)
    return load_corpus(paths, comparison_rules(settings))  # as `strangler contract run` does


@pytest.fixture
def session(settings: Settings) -> Iterator[ContractSession]:
    with ContractSession.in_process(settings, load_ledger(settings.ledger_path)) as opened:
        yield opened


def everything_compared(files: list[CorpusFile]) -> list[CorpusFile]:
    """The corpus with `compare: true` on every step: setup compared as before #24."""
    return [
        dataclasses.replace(
            file,
            cases=tuple(
                dataclasses.replace(
                    case,
                    steps=tuple(dataclasses.replace(s, compare=True) for s in case.steps),
                )
                for case in file.cases
            ),
        )
        for file in files
    ]


def by_name(files: list[CorpusFile], endpoint: str) -> CorpusFile:
    return next(f for f in files if f.endpoint == endpoint)


def test_legacy_pinned_setup_passes_with_no_rule_for_its_timestamps_or_tokens(
    session: ContractSession, files: list[CorpusFile]
) -> None:
    """Register, login and create, pinned to legacy, run in every case and are reported as run
    uncompared; the correct port passes with no type or pattern for their answers."""
    run = run_suite(session, files, fuzz=False)
    assert not run.failed, [(c.case.name, c.differences, c.errors) for c in run.cases if c.failed]
    favorite = next(c for c in run.cases if c.case.name == "favorite-an-article")
    assert favorite.uncompared == ["step 1 (register)", "step 2 (login)", "step 3 (create)"]
    assert favorite.compared == 1
    assert run.uncompared == 4 * 3 + 3 * 1 + 2 * 1  # favorite.yaml, profile.yaml, user.yaml


def test_the_same_setup_compared_differs_by_its_timestamps_and_tokens(
    session: ContractSession, files: list[CorpusFile]
) -> None:
    """Compared, the same setup steps differ legacy against legacy (a creation time, a fresh
    token), which is what leaving them uncompared spares the corpus."""
    run = run_suite(session, everything_compared(files), fuzz=False)
    favorite = next(c for c in run.cases if c.case.name == "favorite-an-article")
    places = {(d.step, d.where) for d in favorite.undeclared}
    assert ("step 1 (register)", "$.user.createdAt") in places
    assert ("step 2 (login)", "$.user.token") in places
    assert all(d.step != "step 4" for d in favorite.undeclared)  # the compared step agrees


def test_fuzzing_runs_a_once_setup_once_for_every_example(
    session: ContractSession, files: list[CorpusFile]
) -> None:
    """Fuzzing an endpoint whose `before:` says `once: true` logs in once (the login is pinned
    to legacy, so one play serves both sides) and every example sends its token."""
    profile = by_name(files, "GET /api/profiles/{username}")
    assert profile.before_once
    logins = store.logins[0]
    result = fuzz_file(session, profile, session.openapi(), examples=12, seed=3)
    assert result.error is None
    assert result.examples >= 2
    assert store.logins[0] - logins == 1


def test_fuzzing_without_once_logs_in_for_every_play_of_every_example(
    session: ContractSession, files: list[CorpusFile]
) -> None:
    """Without `once`, each example replays the login in each of its two plays."""
    profile = dataclasses.replace(by_name(files, "GET /api/profiles/{username}"), before_once=False)
    logins = store.logins[0]
    result = fuzz_file(session, profile, session.openapi(), examples=12, seed=3)
    assert result.error is None
    assert store.logins[0] - logins >= 2 * result.examples
