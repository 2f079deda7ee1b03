"""Contract tests: a corpus of cases replayed on legacy and migrated, compared, fuzzed, reported.

    corpus (YAML) ─► runner ─► legacy and migrated, each on fresh state ─► normalise ─► diff
                                                                  ─► ledger ─► report

Modules: `cases` (what a corpus holds), `corpus` (loading it), `jsonpath`, `compare` (the
normalisation pipeline and the diff), `targets` (where requests go), `runner` (one case on both
sides), `session` (sync access for the CLI, pytest and Hypothesis), `ledger`, `strategies` and
`fuzz` (differential fuzzing), `suite` (a whole run), `report`, `cli`, `pytest_plugin`.
"""

from app.contracts.cases import Case, Request, Rules, Step
from app.contracts.compare import Answer, Difference, compare
from app.contracts.corpus import CorpusFile, corpus_files, load_corpus, load_file
from app.contracts.ledger import Ledger, load_ledger
from app.contracts.results import CaseResult, Found, FuzzResult, RunResult
from app.contracts.session import ContractSession
from app.contracts.suite import run_suite

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
