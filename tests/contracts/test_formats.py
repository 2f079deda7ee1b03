"""How reports show a difference: two long values never look alike, bodies are diffed."""

from __future__ import annotations

from strangler.comparison.cases import Case, Request, Step
from strangler.comparison.ledger import Entry
from strangler.comparison.results import CaseResult, Found, FuzzResult, RunResult
from strangler.contracts.formats import case_failure, fuzz_failure, show, summary
from strangler.contracts.fuzz import UNSTEADY

PAGE = b"<!doctype html>\n<title>Login</title>\n" + b"<p>filler</p>\n" * 30
THEIRS = PAGE.replace(b"</title>", b"</title>\n<p class=flash>Incorrect password.</p>")


def failed(legacy: object, migrated: object, where: str = "body") -> CaseResult:
    found = Found("login", "", "POST /auth/login", where, legacy, migrated, None, (200, 200))
    return CaseResult(Case("login", ()), differences=[found])


def test_a_cut_value_shows_where_it_differs() -> None:
    """Values cut to the table's width are cut around their first difference."""
    assert show(PAGE, 48, THEIRS) != show(THEIRS, 48, PAGE)
    assert "flash" in show(THEIRS, 48, PAGE)


def test_a_body_difference_is_shown_as_a_unified_diff() -> None:
    """An HTML body difference prints the lines that differ, legacy against migrated."""
    report = case_failure(failed(PAGE, THEIRS))
    assert "--- legacy body" in report
    assert "+++ migrated body" in report
    assert "+<p class=flash>Incorrect password.</p>" in report


def test_full_shows_everything_uncut() -> None:
    """--full: no value is cut, and every difference is listed."""
    many = CaseResult(
        Case("c", ()),
        differences=[
            Found("c", "", "GET /", f"$.items[{i}]", "x" * 100, "y" * 100, None, (200, 200))
            for i in range(30)
        ],
    )
    short, full = case_failure(many), case_failure(many, full=True)
    assert "... and 10 more (--full shows all)" in short
    assert "x" * 100 in full
    assert "$.items[29]" in full


def test_the_summary_counts_one_of_a_thing_in_the_singular() -> None:
    """One endpoint, one request, one stale entry, one setup step: each said in the singular
    (#24: "1 endpoints fuzzed clean")."""
    case = CaseResult(Case("login", ()), compared=0, uncompared=["register"])
    fuzzed = FuzzResult("GET /a", examples=1, compared=1)
    run = RunResult(cases=[case], fuzz=[fuzzed], stale=[Entry("old")], seconds=1.0)
    line = summary(run)
    assert "1 endpoint fuzzed clean; 1 request compared," in line
    assert "; 1 stale ledger entry;" in line
    assert "; 1 setup step run in every play, not compared" in line


def test_the_summary_counts_setup_steps_not_requests() -> None:
    """Setup is counted as the steps each play runs, and said so: not as requests sent, which
    is every step times every play (#24: "2 setup requests" for 2 steps in 2 plays each)."""
    case = CaseResult(Case("login", ()), compared=2, uncompared=["register", "login"])
    line = summary(RunResult(cases=[case], stale=[Entry("a"), Entry("b")]))
    assert "; 2 setup steps run in every play, not compared" in line
    assert "2 stale ledger entries" in line
    assert "requests" not in line.split("compared,")[1]


def test_the_summary_time_includes_opening_the_apps_and_says_how_much() -> None:
    """The summary's time is the command's, as the progress clock and --max-time count it,
    and says what part of it opening the apps took (#24: it left that out)."""
    run = RunResult(cases=[CaseResult(Case("c", ()), compared=1)], seconds=5.0, opening=3.0)
    assert summary(run).endswith("in 5.0s, 3.0s of it opening the apps")


def unsteady() -> FuzzResult:
    """An endpoint whose difference was found once and did not come back when replayed."""
    request = Request("POST", "/2/delete")
    found = Found("fuzz", "", request.target, "status", 302, 404, None, (302, 404))
    play = CaseResult(Case("fuzz", (Step(request),)), differences=[found], compared=1)
    return FuzzResult(
        "POST /{id}/delete", examples=12, failure=play, minimal=request, unsteady=UNSTEADY
    )


def test_a_difference_that_did_not_come_back_is_a_failure_that_says_so() -> None:
    """A fuzz difference gone on replay is reported with its request and the note that it may
    depend on state, not called shrunk, and counted as a failure (#24)."""
    fuzzed = unsteady()
    report = fuzz_failure(fuzzed)
    assert "a generated request differed (seed 0, after 12 tries)" in report
    assert "did not differ again when replayed, so it may depend on state" in report
    assert "tries, shrunk" not in report
    assert "the request that showed it, as a corpus case" in report
    assert "status" in report
    assert "path: /2/delete" in report
    run = RunResult(fuzz=[fuzzed], seconds=1.0)
    assert run.failed
    assert summary(run).startswith("0 passed, 1 failed,")
