"""pytest items of a contract corpus: one per case (its name is the id), one per fuzzed endpoint.

Collected by the `strangler` pytest plugin (strangler/pytest_plugin.py), which decides which YAML
files are corpus files. The apps, reset hook, sandboxed databases, ledger and fuzzing settings
come from the strangler.toml (or pyproject.toml) found upwards from the corpus; a reset hook is
refused while a gateway reads the same flag store unless `contract_reset_force = true` (see
strangler.contracts.reset_guard). Both sides are opened once per test session. A declared
difference passes; an undeclared one fails with a table of where, legacy, migrated.

The apps run with RuntimeWarnings ignored, as in production: under a suite's "warnings are
errors" a numpy warning (NaN input) would turn into an exception inside both apps and the
contract would compare two 500s instead of what clients get.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from strangler.assembly import comparison_rules
from strangler.comparison.cases import Case
from strangler.comparison.corpus import CorpusFile, load_file
from strangler.comparison.ledger import load_ledger
from strangler.comparison.results import CaseResult, FuzzResult
from strangler.contracts.errors import ContractFailure, ResetRefused
from strangler.contracts.formats import case_failure, fuzz_failure
from strangler.contracts.fuzz import fuzz_endpoint
from strangler.contracts.sides import ContractSession
from strangler.settings import Settings, find_config, load_settings

_SESSIONS = pytest.StashKey[dict[Path, ContractSession]]()
NOTES = pytest.StashKey[set[str]]()


def after_item(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Closes the sessions after the last contract item in a row, so the apps' lifespans never
    overlap with other tests that start the same apps (a FastAPI app has one `state`)."""
    if isinstance(item, ContractItem | FuzzItem) and not isinstance(
        nextitem, ContractItem | FuzzItem
    ):
        close_sessions(item.config)


def close_sessions(config: pytest.Config) -> None:
    """Closes every open session; the next contract item opens a fresh one."""
    sessions = config.stash.get(_SESSIONS, {})
    while sessions:
        _, session = sessions.popitem()
        session.__exit__(None, None, None)


def _settings(path: Path) -> Settings:
    return load_settings(find_config(path.parent))


def session_for(config: pytest.Config, path: Path) -> ContractSession:
    """The session for the settings that govern `path`, opened on first use."""
    settings = _settings(path)
    sessions = config.stash.setdefault(_SESSIONS, {})
    key = Path(settings.root)
    if key not in sessions:
        session = ContractSession.in_process(settings, load_ledger(settings.ledger_path))
        sessions[key] = session.__enter__()
        if (why := session.not_fresh()) is not None:
            config.stash.setdefault(NOTES, set()).add(
                f"{settings.root}: {why}; cases that need fresh state may differ for that reason"
                " alone"
            )
    return sessions[key]


def summary(config: pytest.Config) -> list[str]:
    """What the terminal summary says once about the contract runs (see pytest_plugin)."""
    notes: set[str] = config.stash.get(NOTES, set())
    return sorted(notes)


class ContractFile(pytest.File):
    """A corpus file: its cases, then its endpoint's fuzzing."""

    def collect(self) -> Iterator[pytest.Item]:
        corpus = load_file(self.path, comparison_rules(_settings(self.path)))
        for case in corpus.cases:
            yield ContractItem.from_parent(self, name=case.name, case=case)
        if corpus.endpoint and corpus.fuzz.enabled:
            yield FuzzItem.from_parent(self, name=f"fuzz {corpus.endpoint}", corpus=corpus)


class ContractItem(pytest.Item):
    """One case, played on legacy and on migrated."""

    def __init__(self, *, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case

    def runtest(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            result: CaseResult = session_for(self.config, self.path).run_case(self.case)
        if result.skipped:
            pytest.skip(result.skipped)
        if result.failed:
            raise ContractFailure(case_failure(result))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, ContractFailure):
            return excinfo.value.report
        if isinstance(excinfo.value, ResetRefused):  # said plainly: it names its fix
            return f"ResetRefused: {excinfo.value}"
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"contract case {self.name}"


class FuzzItem(pytest.Item):
    """Differential fuzzing of one corpus file's endpoint."""

    def __init__(self, *, corpus: CorpusFile, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.corpus = corpus

    def runtest(self) -> None:
        session = session_for(self.config, self.path)
        settings = _settings(self.path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            result: FuzzResult = fuzz_endpoint(
                self.corpus,
                session.openapi(),
                lambda case, primed=None: session.run_case(case, primed=primed),
                examples=self.corpus.fuzz.examples or settings.fuzz_examples,
                seed=settings.fuzz_seed,
                prime=session.prime,
            )
        if result.failed:
            raise ContractFailure(fuzz_failure(result, self.corpus.defaults))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, ContractFailure):
            return excinfo.value.report
        if isinstance(excinfo.value, ResetRefused):  # said plainly: it names its fix
            return f"ResetRefused: {excinfo.value}"
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, self.name
