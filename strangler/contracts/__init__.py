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

from strangler.contracts.cases import Case, Request, Rules, Step
from strangler.contracts.compare import Answer, Difference, compare
from strangler.contracts.corpus import CorpusFile, corpus_files, load_corpus, load_file
from strangler.contracts.ledger import Ledger, load_ledger
from strangler.contracts.results import CaseResult, Found, FuzzResult, RunResult
from strangler.contracts.session import ContractSession
from strangler.contracts.suite import run_suite

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
