"""How reports show a difference: two long values never look alike, bodies are diffed."""

from __future__ import annotations

from strangler.comparison.cases import Case
from strangler.comparison.results import CaseResult, Found
from strangler.contracts.formats import case_failure, show

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
