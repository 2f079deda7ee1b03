"""Exported cases that replay: each request once, with the steps that set the values it sends.

A shadowed request is kept with its secrets out: its bearer token becomes `Bearer ${token}`
(strangler.shadow.redact), which only a step capturing `token` gives back. The corpus has such
steps in a file's `before:` (a login): an exported file takes them as written from the
endpoint's own corpus file, else from the first corpus file whose `before:` captures every value
its cases use, and with them the endpoint's `compare:` rules (those shadowing compared by). A
recorded login cannot stand in: its password was redacted. Where the corpus has no such steps,
the file is named `_shadow_….yaml` (which `strangler contract run` skips) and says how to add
them, rather than hold cases that fail for want of a token under a real-looking difference.

The gateway makes the files (`corpus_files`, without the corpus: it serves traffic, not tests);
`strangler shadow export`, beside the corpus, completes them (`complete`).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from strangler.comparison.corpus import corpus_files, load_file
from strangler.comparison.errors import CorpusError
from strangler.shadow.redact import slug

VARIABLE = re.compile(r"\$\{([^}]*)\}")  # as strangler.contracts.runner fills them in
_BEARER = re.compile(r"bearer \$\{([^}]*)\}", re.IGNORECASE)
_NOT_REQUEST = ("name", "description")  # what two cases of one request may differ by


def file_name(endpoint: str) -> str:
    """`POST /predict` -> `shadow_post_predict.yaml`."""
    return "shadow_" + slug(endpoint).replace("-", "_") + ".yaml"


def used(value: Any) -> set[str]:
    """The `${name}` values a case sends (in any string of it, keys included)."""
    if isinstance(value, str):
        return set(VARIABLE.findall(value))
    if isinstance(value, dict):
        return set().union(*(used(k) | used(v) for k, v in value.items()))
    if isinstance(value, list):
        return set().union(*(used(item) for item in value))
    return set()


def fold(cases: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cases with each request once (the same request after redaction, whatever its name
    and description): the first kept, saying how many times it was seen and where it differed."""
    kept: dict[str, tuple[dict[str, Any], list[str], int]] = {}
    for case in cases:
        request = {k: v for k, v in case.items() if k not in _NOT_REQUEST}
        key = json.dumps(request, sort_keys=True, default=repr)
        first, notes, seen = kept.get(key, (case, [], 0))
        note = str(case.get("description", ""))
        if note and note not in notes:
            notes.append(note)
        kept[key] = (first, notes, seen + 1)
    folded = []
    for first, notes, seen in kept.values():
        case = dict(first)
        said = "; ".join(notes) + (f" (seen {seen} times)" if seen > 1 else "")
        if said:
            case["description"] = said.strip()
        folded.append(case)
    return folded


@dataclasses.dataclass(frozen=True)
class Source:
    """What one corpus file lends exported cases: its `before:` and `compare:` as written."""

    path: Path
    endpoint: str | None
    before: tuple[dict[str, Any], ...]
    captures: frozenset[str]
    compare: dict[str, Any]
    bearer: str | None  # X of its defaults' `Authorization: Bearer ${X}`


@dataclasses.dataclass(frozen=True)
class Login:
    """The steps an endpoint's exported cases start with, and the rules they are compared by."""

    before: tuple[dict[str, Any], ...]
    source: Path
    compare: dict[str, Any]
    rules_from: Path | None
    renamed: dict[str, str]  # ${token} -> ${X} where the corpus calls the token X


class Corpus:
    """The corpus files that lend their logins and rules, read once."""

    def __init__(self, sources: Iterable[Source] = (), folder: Path | None = None) -> None:
        self.sources = tuple(sources)
        self.folder = folder
        self.skipped: list[str] = []  # files that would not load, with why

    @classmethod
    def read(
        cls, folder: Path, ledger: Path | None = None, *, leave_out: Iterable[Path] = ()
    ) -> Corpus:
        """The corpus under `folder`, but for the files `leave_out` (those an export is about
        to replace)."""
        corpus = cls(folder=folder)
        if not folder.is_dir():
            corpus.skipped.append(f"{folder}: no such folder")
            return corpus
        out = {path.resolve() for path in leave_out}
        sources = []
        for path in corpus_files(folder, ledger):
            if path.resolve() in out:
                continue
            try:
                loaded = load_file(path)
                document = yaml.safe_load(path.read_text(encoding="utf-8"))
            except (CorpusError, OSError, yaml.YAMLError) as exc:
                corpus.skipped.append(str(exc).splitlines()[0])
                continue
            headers = (document.get("defaults") or {}).get("headers") or {}
            bearer = next(
                (
                    m.group(1)
                    for k, v in headers.items()
                    if str(k).lower() == "authorization" and (m := _BEARER.fullmatch(str(v)))
                ),
                None,
            )
            sources.append(
                Source(
                    path=path,
                    endpoint=loaded.endpoint,
                    before=_before_steps(document.get("before")),
                    captures=frozenset(n for s in loaded.before for n in s.capture),
                    compare=dict(document.get("compare") or {}),
                    bearer=bearer,
                )
            )
        corpus.sources = tuple(sources)
        return corpus

    def login(self, endpoint: str | None, names: set[str]) -> Login | None:
        """The steps that capture every one of `names` for `endpoint`'s cases: the endpoint's
        own file's `before:` first, else the first file's that does; None if none does."""
        own = [s for s in self.sources if endpoint and s.endpoint == endpoint]
        rules = next((s for s in own if s.compare), None)
        for source in (*own, *(s for s in self.sources if s not in own)):
            renamed = {}
            if "token" in names and "token" not in source.captures and source.bearer:
                renamed = {"token": source.bearer}  # the corpus's name for the bearer token
            if source.before and {renamed.get(n, n) for n in names} <= source.captures:
                return Login(
                    before=source.before,
                    source=source.path,
                    compare=rules.compare if rules else {},
                    rules_from=rules.path if rules else None,
                    renamed=renamed,
                )
        return None


def _before_steps(block: Any) -> tuple[Any, ...]:
    """A corpus file's `before:` steps as written: a list, or `{once: true, steps: [...]}`."""
    if isinstance(block, dict):
        block = block.get("steps")
    return tuple(block or ())


@dataclasses.dataclass(frozen=True)
class Exported:
    """One corpus file to write, and what the person exporting must know of it."""

    name: str
    text: str
    ready: bool = True  # False: its cases send values no step captures (named `_…`)
    note: str = ""


HEADER = "# From shadowed live traffic on {endpoint} (strangler shadow export).\n"


def document(endpoint: str, cases: list[dict[str, Any]], corpus: Corpus | None) -> Exported:
    """The corpus file of `endpoint`'s exported cases (already folded). With the corpus, its
    cases get the login they need or the file is named `_…` and says how to add one; without
    (the gateway's export), a file whose cases need one says so and is completed by the CLI."""
    name = file_name(endpoint)
    header = HEADER.format(endpoint=endpoint)
    body: dict[str, Any] = {"endpoint": endpoint}
    needed = used(cases)
    if not needed:
        return Exported(
            name, header + _dump({**body, "cases": cases}), note=f"{len(cases)} case(s)"
        )
    login = corpus.login(endpoint, needed) if corpus is not None else None
    if login is not None:
        if login.compare:
            body["compare"] = login.compare
        body["before"] = list(login.before)
        header += f"# `before:` (it captures {_names(needed, login.renamed)}) from {login.source}"
        header += f"; `compare:` from {login.rules_from}.\n" if login.compare else ".\n"
        cases = _renamed(cases, login.renamed)
        note = f"{len(cases)} case(s), logged in by the `before:` of {login.source}"
        return Exported(name, header + _dump({**body, "cases": cases}), note=note)
    values = _names(needed)
    text = _dump({**body, "cases": cases})
    if corpus is None:
        return Exported(name, header + _UNREADY.format(values=values, then=_AT_HAND) + text, False)
    where = f"the corpus at {corpus.folder}"
    if corpus.folder is None:
        where = "any corpus (none found: `strangler shadow export --corpus FOLDER`)"
    note = (
        f"NOT READY: its cases send {values}, which no `before:` step of {where} captures;"
        f" add the steps that log in (the file's first lines say how), then rename it {name}"
        " (`strangler contract run` skips files whose name starts with `_`)"
    )
    header += _UNREADY.format(values=values, then=_RENAME.format(name=name))
    return Exported("_" + name, header + text, ready=False, note=note)


_UNREADY = """\
# NOT READY TO RUN: its cases send {values}, which no step here captures (a recorded login
# cannot be replayed: its password was redacted). Add the steps that log in, e.g.
#   before:
#     - name: login
#       method: POST
#       path: /login
#       json: {{username: ..., password: ...}}
#       capture: {{token: $.token}}
{then}"""
_AT_HAND = """\
# `strangler shadow export` adds them from the corpus, where a corpus file's `before:` captures
# the same values (the endpoint's own file first).
"""
_RENAME = """\
# then rename this file {name}: `strangler contract run` skips it until then. Or give the
# endpoint's corpus file such a `before:` and export again.
"""


def complete(name: str, text: str, corpus: Corpus) -> Exported:
    """A file the gateway exported, with the login its cases need taken from `corpus` (or
    named `_…` and saying how to add one); a file that needs nothing is kept as it is."""
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError:
        return Exported(name, text)  # not ours to judge: `contract run` says what is wrong
    cases = loaded.get("cases") if isinstance(loaded, dict) else None
    endpoint = loaded.get("endpoint") if isinstance(loaded, dict) else None
    if (
        not isinstance(cases, list)
        or not isinstance(endpoint, str)
        or "before" in loaded
        or not used(cases)
    ):
        return Exported(name, text, note=f"{len(cases)} case(s)" if isinstance(cases, list) else "")
    return document(endpoint, fold(cases), corpus)


def _renamed(cases: list[dict[str, Any]], renamed: dict[str, str]) -> list[dict[str, Any]]:
    if not renamed:
        return cases
    text = json.dumps(cases)
    for old, new in renamed.items():
        text = text.replace("${" + old + "}", "${" + new + "}")
    result: list[dict[str, Any]] = json.loads(text)
    return result


def _names(names: set[str], renamed: dict[str, str] | None = None) -> str:
    return ", ".join("${" + (renamed or {}).get(n, n) + "}" for n in sorted(names))


def _dump(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
