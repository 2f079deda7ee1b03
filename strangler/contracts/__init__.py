"""Contract tests: a corpus of cases replayed on legacy and migrated, compared, fuzzed, reported.

    corpus (YAML) ─► runner ─► legacy and migrated, each on fresh state ─► normalise ─► diff
                                                                  ─► ledger ─► report

What a corpus holds, loading it, comparing answers and the ledger are the comparison core
(strangler.comparison), which shadowing uses too. Modules here: `targets` (where requests go),
`runner` (one case on both sides), `sides` (both sides opened once, for the CLI, pytest and
Hypothesis), `schemas`, `strategies` and `fuzz` (differential fuzzing), `suite` (a whole run),
`formats` (the run for a terminal, JUnit XML, Markdown), `cli`,
`pytest_items` (collected by strangler/pytest_plugin.py), `errors`.

Needs the `contracts` extra: `pip install 'strangler[contracts]'`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Loaded on first use (PEP 562): importing a module of the runner loads no other, nor Hypothesis.
_EXPORTS = {
    "Case": "strangler.comparison.cases",
    "Request": "strangler.comparison.cases",
    "Rules": "strangler.comparison.cases",
    "Step": "strangler.comparison.cases",
    "Answer": "strangler.comparison.compare",
    "Difference": "strangler.comparison.compare",
    "compare": "strangler.comparison.compare",
    "CorpusFile": "strangler.comparison.corpus",
    "corpus_files": "strangler.comparison.corpus",
    "load_corpus": "strangler.comparison.corpus",
    "load_file": "strangler.comparison.corpus",
    "Ledger": "strangler.comparison.ledger",
    "load_ledger": "strangler.comparison.ledger",
    "CaseResult": "strangler.comparison.results",
    "Found": "strangler.comparison.results",
    "FuzzResult": "strangler.comparison.results",
    "RunResult": "strangler.comparison.results",
    "ContractSession": "strangler.contracts.sides",
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
    from strangler.comparison.cases import Case, Request, Rules, Step
    from strangler.comparison.compare import Answer, Difference, compare
    from strangler.comparison.corpus import CorpusFile, corpus_files, load_corpus, load_file
    from strangler.comparison.ledger import Ledger, load_ledger
    from strangler.comparison.results import CaseResult, Found, FuzzResult, RunResult
    from strangler.contracts.sides import ContractSession
    from strangler.contracts.suite import run_suite


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'strangler.contracts' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
