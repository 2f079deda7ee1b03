"""Differential fuzzing of one endpoint (strangler.contracts.fuzz)."""

from __future__ import annotations

from pathlib import Path

from strangler.comparison.cases import Case
from strangler.comparison.corpus import CorpusFile
from strangler.comparison.results import CaseResult
from strangler.contracts.fuzz import fuzz_endpoint


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
