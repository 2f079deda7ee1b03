"""Loading the YAML corpus: the format, and errors that name the file and the case."""

from __future__ import annotations

from pathlib import Path

import pytest

from strangler.comparison.cases import MISSING, Rules
from strangler.comparison.corpus import corpus_files, load_corpus, load_file
from strangler.comparison.errors import CorpusError

CORPUS = """
endpoint: post /items
compare: {ignore: [$.id]}
before:
  - {method: POST, path: /login, json: {user: a}, capture: {token: $.token}}
defaults:
  method: POST
  path: /items
  headers: {X-Token: "${token}", Content-Type: application/json}
cases:
  - name: create
    json: {name: pen}
  - name: no-token-no-type
    headers: {X-Token: null, content-type: null}
    body: "{bad"
  - name: twice
    stateful: true
    compare: {ignore: [$.at], headers: [allow]}
    steps:
      - {json: {name: pen}, repeat: 2}
"""


def write(tmp_path: Path, text: str, name: str = "items.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_file_becomes_cases_with_before_steps_defaults_and_rules(tmp_path: Path) -> None:
    """Cases start from the defaults, run the `before` steps first, and inherit the rules."""
    file = load_file(write(tmp_path, CORPUS))
    create, no_token, twice = file.cases
    assert file.endpoint == "POST /items"
    assert [s.request.path for s in create.steps] == ["/login", "/items"]
    assert create.steps[1].request.json == {"name": "pen"}
    assert create.steps[1].request.headers == {
        "X-Token": "${token}",
        "Content-Type": "application/json",
    }
    assert no_token.steps[1].request.headers == {"X-Token": None, "content-type": None}
    assert no_token.steps[1].request.json is MISSING
    assert no_token.steps[1].request.body == "{bad"
    assert twice.stateful
    assert twice.steps[1].repeat == 2
    assert twice.rules.ignore == ("$.id", "$.at")  # added to the file's
    assert twice.rules.headers == ("allow",)  # replaced


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cases: []", "`cases:` must be a non-empty list"),
        ("cases: [{path: /x}]", r"case #1 needs a `name:`"),
        ("cases: [{name: a, path: x}]", r"case 'a': path 'x' must be a string starting with '/'"),
        ("cases: [{name: a, jsn: {}}]", r"case 'a': unknown key\(s\) \['jsn'\]"),
        ("cases: [{name: a, json: 1, body: x}]", "case 'a': give one body, not json and body"),
        ("cases: [{name: a, compare: {ignore: [a]}}]", "must start with '\\$'"),
        ("cases: [{name: a, compare: {types: {$.a: text}}}]", "'text' is not one of"),
        ("cases: [{name: a, compare: {headers: some}}]", "compare.headers must be all or a list"),
        ("cases: [{name: a, compare: {ignore_headers: etag}}]", "compare.ignore_headers must be"),
        ("cases: [{name: a, steps: [{repeat: 0}]}]", "steps\\[0\\]: `repeat:` must be"),
        ("cases: [{name: a, capture: {t: token}}]", "must start with '\\$'"),
        ("endpoint: /x\ncases: [{name: a}]", "must be 'METHOD /path'"),
        ("- just a list", "expected a mapping"),
        ("cases: [", "cannot read it as YAML"),
    ],
)
def test_mistakes_are_refused_naming_file_and_case(tmp_path: Path, text: str, message: str) -> None:
    """Each mistake is reported with the file, the case and what to write instead."""
    path = write(tmp_path, text)
    with pytest.raises(CorpusError, match=message) as raised:
        load_file(path)
    assert str(path) in str(raised.value)


HEADER_PRESETS = """
compare: {headers: [content-type, vary], ignore_headers: [etag]}
cases:
  - name: named
  - name: every-header
    compare: {headers: all, ignore_headers: [X-Trace]}
"""


def test_header_presets_choose_and_ignore_headers_per_file_and_case(tmp_path: Path) -> None:
    """`headers: all | [names]` replaces the file's choice; `ignore_headers` adds to the
    volatile headers the run starts from (#24)."""
    base = Rules(ignore_headers=("date", "x-request-id"))
    named, every = load_file(write(tmp_path, HEADER_PRESETS), base).cases
    assert named.rules.headers == ("content-type", "vary")
    assert named.rules.ignore_headers == ("date", "x-request-id", "etag")
    assert every.rules.headers == "all"
    assert every.rules.ignore_headers == ("date", "x-request-id", "etag", "x-trace")


def test_every_header_is_compared_unless_the_corpus_says_otherwise(tmp_path: Path) -> None:
    """A file without header rules compares every header but the volatile ones (#24)."""
    (case,) = load_file(write(tmp_path, "cases: [{name: a}]")).cases
    assert case.rules.headers == "all"
    assert {"date", "server", "content-length"} <= set(case.rules.ignore_headers)


def test_case_names_are_unique_across_the_corpus(tmp_path: Path) -> None:
    """Two files with a case of the same name are refused: names are test ids and ledger keys."""
    first = write(tmp_path, "cases: [{name: same}]", "a.yaml")
    second = write(tmp_path, "cases: [{name: same}]", "b.yaml")
    with pytest.raises(CorpusError, match="'same' is also in"):
        load_corpus([first, second])


def test_corpus_files_skip_the_ledger_and_underscored_files(tmp_path: Path) -> None:
    """The ledger and `_*.yaml` files are not corpus files."""
    for name in ("a.yaml", "b.yml", "_draft.yaml", "ledger.yaml"):
        write(tmp_path, "cases: [{name: x}]", name)
    found = corpus_files(tmp_path, tmp_path / "ledger.yaml")
    assert [p.name for p in found] == ["a.yaml", "b.yml"]


def test_the_readme_corpus_example_loads(tmp_path: Path) -> None:
    """The corpus file the README shows is a valid corpus file, every key of it."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split("A corpus file (one per endpoint", 1)[1].split("```yaml\n", 1)[1]
    (tmp_path / "example.yaml").write_text(block.split("```", 1)[0])
    corpus = load_file(tmp_path / "example.yaml")
    assert len(corpus.cases) == 5
    assert corpus.cases[-1].mixed == 8
    assert corpus.cases[1].steps[-1].request.query == {"verbose": "1", "tag": ["a", "b"]}


SETUP = """
endpoint: GET /me
before:
  - {name: register, method: POST, path: /users, backend: legacy}
  - {name: login, method: POST, path: /login, backend: legacy, capture: {token: $.token}}
cases:
  - name: me
    path: /me
  - name: me-then-audit
    steps:
      - {path: /me}
      - {path: /audit, backend: legacy}
      - {path: /stats, compare: false}
  - name: login-compared
    steps:
      - {path: /login, backend: legacy, compare: true}
"""


def test_setup_steps_are_run_but_not_compared(tmp_path: Path) -> None:
    """Steps pinned to a backend with only pinned steps before them are setup, not compared;
    a pinned step after an unpinned one reads what each side left and is compared (#24)."""
    me, audit, login = load_file(write(tmp_path, SETUP)).cases
    assert [me.compared(i) for i in range(len(me.steps))] == [False, False, True]
    assert [audit.compared(i) for i in range(len(audit.steps))] == [False, False, True, True, False]
    assert [login.compared(i) for i in range(len(login.steps))] == [False, False, True]


def test_a_case_that_compares_nothing_is_refused(tmp_path: Path) -> None:
    """A case whose every step is setup proves nothing: the error names it and the fix."""
    text = "cases: [{name: all-setup, steps: [{path: /a, backend: legacy}, {compare: false}]}]"
    with pytest.raises(CorpusError, match=r"case 'all-setup': no step of it is compared"):
        load_file(write(tmp_path, text))


def test_a_step_compare_is_true_or_false(tmp_path: Path) -> None:
    """Comparison rules on a step are refused with where they belong."""
    text = "cases: [{name: c, steps: [{compare: {ignore: [$.a]}}]}]"
    with pytest.raises(CorpusError, match=r"steps\[0\]: a step's `compare:` is true or false"):
        load_file(write(tmp_path, text))


def test_before_once_marks_the_setup_fuzzing_may_run_once(tmp_path: Path) -> None:
    """`before: {once: true, steps: [...]}` gives the same steps as a list, and the mark."""
    text = SETUP.replace("before:\n", "before:\n once: true\n steps:\n")
    once = load_file(write(tmp_path, text))
    plain = load_file(write(tmp_path, SETUP, "plain.yaml"))
    assert once.before_once
    assert not plain.before_once
    assert once.before == plain.before
    assert [s.name for s in once.cases[0].steps] == ["register", "login", ""]
    with pytest.raises(CorpusError, match=r"before\.once:` must be true or false"):
        load_file(write(tmp_path, "before: {once: 1, steps: [{}]}\ncases: [{name: c}]"))
