"""Saved contract results (strangler.comparison.saved): canonical apart from ad hoc (#24)."""

from __future__ import annotations

from pathlib import Path

from strangler.comparison.cases import Case, Request, Step
from strangler.comparison.results import CaseResult, RunResult
from strangler.comparison.saved import ad_hoc, load_adhoc, load_results, save_results
from strangler.types import Backend


def test_a_case_counts_only_for_the_requests_it_compares(tmp_path: Path) -> None:
    """A case without `endpoint:` is attributed to the steps it compares, not to the legacy-only
    setup it merely runs (a login, a record made on legacy)."""
    setup = Step(Request("POST", "/api/users"), backend=Backend.LEGACY)
    read = Step(Request("GET", "/api/articles/x"))
    run = RunResult(cases=[CaseResult(Case("read", (setup, read)), compared=1)])
    save_results(run, tmp_path / "results.json")
    saved = load_results(tmp_path / "results.json")
    assert saved is not None
    assert saved["cases"][0]["requests"] == ["GET /api/articles/x"]


def test_an_ad_hoc_run_is_saved_aside_and_never_read_as_the_canonical_one(
    tmp_path: Path,
) -> None:
    """Ad-hoc results go beside the canonical ones under a name of their own."""
    path = tmp_path / "results.json"
    save_results(RunResult(), path)
    where = save_results(RunResult(adhoc="-k login-*"), path)
    assert where.name == "results.adhoc.json"
    canonical, aside = load_results(path), load_adhoc(path)
    assert canonical is not None
    assert canonical["adhoc"] is None
    assert aside is not None
    assert aside["adhoc"] == "-k login-*"
    assert load_results(where) is None  # read by mistake, it is still not canonical


def test_a_run_is_ad_hoc_when_it_leaves_part_of_the_corpus_out(tmp_path: Path) -> None:
    """-k, another folder, no fuzzing and other apps each make a run ad hoc; the configured
    folder, however spelled, does not."""
    folder = tmp_path / "contracts"
    assert ad_hoc(corpus=folder, configured=tmp_path / "." / "contracts") is None
    assert ad_hoc(select="a*") == "-k a*"
    assert ad_hoc(corpus=tmp_path / "one", configured=folder) == f"--corpus {tmp_path / 'one'}"
    assert ad_hoc(fuzz=False, apps=True) == "--no-fuzz, other apps"
