"""The ledger: declared differences pass, undeclared fail, unused entries are stale."""

from __future__ import annotations

from pathlib import Path

import pytest

from strangler.comparison.errors import CorpusError
from strangler.comparison.ledger import Entry, Ledger, load_ledger


def test_an_entry_covers_by_case_glob_endpoint_and_where() -> None:
    """Case globs, endpoints and `where` select differences; only `*` is a wildcard."""
    entry = Entry(why="w", case="health-*", where="$.items[*].at")
    assert entry.covers("health-ok", [None], "$.items[*].at")
    assert not entry.covers("login-ok", [None], "$.items[*].at")
    assert entry.covers("health-ok", [None], "$.items[0].at")
    assert not Entry(why="w", case="*", where="$.items[0].at").covers("x", [None], "$.items[1].at")
    by_endpoint = Entry(why="w", endpoint="GET /health", where="header:*")
    assert by_endpoint.covers("anything", ["GET /health"], "header:server")
    assert not by_endpoint.covers("anything", ["GET /other"], "header:server")


def test_every_kind_of_entry_that_declared_nothing_is_stale() -> None:
    """An entry scoped by case, endpoint or request that declared nothing is stale, whether or
    not anything it names was run: `request: GET /api/profiles/%2F` with no such request in
    the run is as stale as a case entry whose case passes (#24)."""
    used = Entry(why="a", case="one")
    by_case = Entry(why="b", case="two", where="header:server")
    case_gone = Entry(why="c", case="three")
    endpoint_gone = Entry(why="d", endpoint="GET /fax")
    request_gone = Entry(why="e", request="GET /api/profiles/%2F")
    ledger = Ledger([used, by_case, case_gone, endpoint_gone, request_gone])
    assert ledger.declare("one", [None], "status") is used
    assert ledger.declare("two", [None], "status") is None
    assert ledger.stale() == [by_case, case_gone, endpoint_gone, request_gone]


def test_load_ledger_reads_entries_with_their_lines(tmp_path: Path) -> None:
    """Entries keep the line they start on, for reports."""
    path = tmp_path / "ledger.yaml"
    path.write_text(
        "differences:\n  - case: a\n    why: because\n  - endpoint: GET /x\n    where: status\n"
        "    why: >\n      folded\n      text\n"
    )
    ledger = load_ledger(path)
    assert [(e.case, e.endpoint, e.where, e.why, e.line) for e in ledger.entries] == [
        ("a", None, "*", "because", 2),
        (None, "GET /x", "status", "folded text", 4),
    ]


def test_a_missing_ledger_is_empty(tmp_path: Path) -> None:
    """No ledger file means no declared differences."""
    assert load_ledger(tmp_path / "nope.yaml").entries == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("differences: [{case: a}]", "needs a `why:`"),
        ("differences: [{why: w}]", "give `case:`"),
        ("differences: [{case: a, why: w, reason: r}]", "unknown key"),
        ("differences: 3", "expected `differences:`"),
    ],
)
def test_bad_entries_are_refused_with_their_line(tmp_path: Path, text: str, message: str) -> None:
    """A bad entry names the file and line and what is missing."""
    path = tmp_path / "ledger.yaml"
    path.write_text(text)
    with pytest.raises(CorpusError, match=message):
        load_ledger(path)


def test_a_request_entry_covers_only_matching_requests() -> None:
    """`request:` narrows an entry to requests as sent, e.g. ids with an encoded slash."""
    entry = Entry(why="w", request="GET /items/*%2F*")
    assert entry.covers(
        "fuzz-x", ["GET /items/{id}", "GET /items/%2F0"], "status", "GET /items/%2F0"
    )
    assert not entry.covers("fuzz-x", ["GET /items/{id}", "GET /items/1"], "status", "GET /items/1")


def test_an_entry_can_be_narrowed_by_each_sides_status(tmp_path: Path) -> None:
    """`status:` limits an entry to answers with those statuses, so a redirect's body entry does
    not also declare a real page difference on a wrong password."""
    path = tmp_path / "ledger.yaml"
    path.write_text(
        "differences:\n"
        "  - {request: POST /auth/login, status: 302, where: body, why: redirect pages}\n"
        "  - {case: c, status: {migrated: 422}, where: status, why: validation}\n"
    )
    redirect, validation = load_ledger(path).entries
    login = ["POST /auth/login"]
    assert redirect.covers("any", login, "body", "POST /auth/login", (302, 302))
    assert not redirect.covers("any", login, "body", "POST /auth/login", (200, 200))
    assert validation.covers("c", [None], "status", None, (400, 422))
    assert not validation.covers("c", [None], "status", None, (400, 500))
    assert "legacy 302 migrated 302" in redirect.describe()


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ("99", "is not an HTTP status"),
        ("{legacy: x}", "is not an HTTP status"),
        ("{both: 1}", "takes legacy"),
    ],
)
def test_a_bad_status_is_refused(tmp_path: Path, status: str, message: str) -> None:
    path = tmp_path / "ledger.yaml"
    path.write_text(f"differences:\n  - {{case: c, status: {status}, why: w}}\n")
    with pytest.raises(CorpusError, match=message):
        load_ledger(path)
