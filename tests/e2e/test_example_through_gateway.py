"""The example through the gateway, routed by its flag table: flipped or not, clients see no change.

The cases are the YAML corpus in contract_tests/, played by the contract runner with `via="flags"`:
the legacy side with every endpoint left on legacy, the migrated side with every endpoint flipped
to migrated by its flag (no force header), each answer checked for the backend that served it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from strangler.comparison.corpus import corpus_files
from strangler.contracts import ContractSession, load_corpus, load_ledger, run_suite
from strangler.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, model_file: Path) -> Settings:
    monkeypatch.chdir(REPO)
    return load_settings(REPO / "pyproject.toml")


def test_corpus_routed_by_flags_answers_alike_on_both_backends(settings: Settings) -> None:
    """Every corpus case answers the same with every endpoint flipped as with none flipped."""
    ledger = load_ledger(settings.ledger_path)
    files = load_corpus(corpus_files(settings.contracts_path, settings.ledger_path))
    with ContractSession.in_process(settings, ledger, via="flags") as session:
        result = run_suite(session, files, fuzz=False)
    ran = [case for case in result.cases if case.skipped is None]
    assert len(ran) == sum(len(f.cases) for f in files) > 100
    failures = {c.case.name: [*c.errors, *map(str, c.undeclared)] for c in result.cases if c.failed}
    assert failures == {}
