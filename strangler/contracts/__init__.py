"""Contract tests: a corpus of cases replayed on legacy and migrated, compared, fuzzed, reported.

    corpus (YAML) ─► runner ─► legacy and migrated, each on fresh state ─► normalise ─► diff
                                                                  ─► ledger ─► report

Modules: `cases` (what a corpus holds), `corpus` (loading it), `jsonpath`, `compare` (the
normalisation pipeline and the diff), `targets` (where requests go), `runner` (one case on both
sides), `session` (sync access for the CLI, pytest and Hypothesis), `ledger`, `strategies` and
`fuzz` (differential fuzzing), `suite` (a whole run), `report`, `cli`, `pytest_items` (collected
by strangler/pytest_plugin.py), `errors`.

Needs the `contracts` extra: `pip install 'strangler[contracts]'`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Loaded on first use (PEP 562), so the gateway's shadow comparison can import `compare`,
# `corpus` and `ledger` without the extra: only the runner and fuzzing need Hypothesis.
_EXPORTS = {
    "Case": "strangler.contracts.cases",
    "Request": "strangler.contracts.cases",
    "Rules": "strangler.contracts.cases",
    "Step": "strangler.contracts.cases",
    "Answer": "strangler.contracts.compare",
    "Difference": "strangler.contracts.compare",
    "compare": "strangler.contracts.compare",
    "CorpusFile": "strangler.contracts.corpus",
    "corpus_files": "strangler.contracts.corpus",
    "load_corpus": "strangler.contracts.corpus",
    "load_file": "strangler.contracts.corpus",
    "Ledger": "strangler.contracts.ledger",
    "load_ledger": "strangler.contracts.ledger",
    "CaseResult": "strangler.contracts.results",
    "Found": "strangler.contracts.results",
    "FuzzResult": "strangler.contracts.results",
    "RunResult": "strangler.contracts.results",
    "ContractSession": "strangler.contracts.session",
    "run_suite": "strangler.contracts.suite",
}

__all__ = [
    "Answer",
    "Case",
    "CaseResult",
    "ContractSession",
    "CorpusFile",
    "Difference",
    "Found",
    "FuzzResult",
    "Ledger",
    "Request",
    "Rules",
    "RunResult",
    "Step",
    "compare",
    "corpus_files",
    "load_corpus",
    "load_file",
    "load_ledger",
    "run_suite",
]

if TYPE_CHECKING:
    from strangler.contracts.cases import Case, Request, Rules, Step
    from strangler.contracts.compare import Answer, Difference, compare
    from strangler.contracts.corpus import CorpusFile, corpus_files, load_corpus, load_file
    from strangler.contracts.ledger import Ledger, load_ledger
    from strangler.contracts.results import CaseResult, Found, FuzzResult, RunResult
    from strangler.contracts.session import ContractSession
    from strangler.contracts.suite import run_suite


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'strangler.contracts' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
