"""Loads the corpus: YAML files of cases, checked with errors that name the file and the case.

    endpoint: POST /predict              # optional: what the file is about (ledger, fuzzing)
    compare: {ignore: [$.request_id]}    # rules for every case of the file (see cases.Rules)
    before:                              # steps run first in every case, e.g. log in
      - {method: POST, path: /login, json: {user: a, password: b}, capture: {token: $.token}}
    # or: before: {once: true, steps: [...]}: fuzzing runs them once and reuses their captures
    defaults:                            # request fields every case step starts from
      method: POST
      path: /predict
      headers: {Authorization: "Bearer ${token}"}
    fuzz: {examples: 500}                # or `fuzz: false`
    cases:
      - name: predict-ok                 # unique in the corpus: the test id and ledger key
        json: {features: [1, 2, 3]}
      - name: predict-cache-hit
        stateful: true                   # depends on fresh state (the reset hook gives it)
        steps:
          - {json: {features: [1, 2, 3]}, repeat: 2}
      - name: login-then-predict
        mixed: true                      # also in the orders a canary makes (or: mixed: N orders)
        steps:
          - {path: /login, backend: legacy}   # `backend:` pins a step to one backend
          - {json: {features: [1, 2, 3]}}
          - {path: /audit, compare: false}    # run, not compared (setup; see Case.compared)

Files whose name starts with `_`, `ledger.yaml` and the configured ledger are not corpus files.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from strangler.comparison.cases import MISSING, Case, Request, Rules, Step, check_rules
from strangler.comparison.errors import CaseProblem, CorpusError
from strangler.comparison.jsonpath import parse as parse_path
from strangler.routing.templates import parse_route_key, route_key
from strangler.types import Backend

_REQUEST_FIELDS = ("method", "path", "headers", "query", "json", "form", "body")
_STEP_FIELDS = (*_REQUEST_FIELDS, "name", "capture", "repeat", "backend")
_CASE_FIELDS = (*_STEP_FIELDS, "steps", "description", "stateful", "compare", "mixed")
# A step in `steps:` or `before:` may also say `compare: true | false` (a case's `compare:` is
# its rules, so an inline one-step case cannot).
_LISTED_STEP_FIELDS = (*_STEP_FIELDS, "compare")
# A mixed case is played in at most this many orders unless it says `mixed: N`.
DEFAULT_MIXED_ORDERS = 8
_FILE_FIELDS = ("endpoint", "description", "compare", "before", "defaults", "fuzz", "cases")
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")


@dataclasses.dataclass(frozen=True)
class FuzzSpec:
    """A file's `fuzz:` block: whether and how much to fuzz its endpoint."""

    enabled: bool = True
    examples: int | None = None  # None: the run's default


@dataclasses.dataclass(frozen=True)
class CorpusFile:
    """One loaded corpus file: its cases, and what fuzzing its endpoint needs."""

    path: Path
    cases: tuple[Case, ...]
    endpoint: str | None = None
    rules: Rules = dataclasses.field(default_factory=Rules)
    before: tuple[Step, ...] = ()
    before_once: bool = False  # fuzzing may run `before:` once and reuse what it captured
    defaults: Request = dataclasses.field(default_factory=Request)
    fuzz: FuzzSpec = dataclasses.field(default_factory=FuzzSpec)


def corpus_files(folder: Path, ledger: Path | None = None) -> list[Path]:
    """The corpus files under `folder`, sorted: *.yaml and *.yml, not `_*` nor a ledger."""
    if not folder.is_dir():
        raise CorpusError(f"no corpus folder at {folder}; create it or set `contracts` to yours")
    skip = ledger.resolve() if ledger else None
    found = [
        path
        for pattern in ("*.yaml", "*.yml")
        for path in folder.rglob(pattern)
        if not path.name.startswith("_") and path.name != "ledger.yaml" and path.resolve() != skip
    ]
    return sorted(found)


def load_corpus(paths: Iterable[Path], base: Rules = Rules()) -> list[CorpusFile]:
    """Loads every file; CorpusError if one is invalid or two cases share a name."""
    files = [load_file(path, base) for path in paths]
    seen: dict[str, Path] = {}
    for file in files:
        for case in file.cases:
            if case.name in seen:
                raise CorpusError(
                    f"{file.path}: case {case.name!r} is also in {seen[case.name]}; case names"
                    " are test ids and ledger keys, so they must be unique in the corpus"
                )
            seen[case.name] = file.path
    return files


def load_file(path: Path, base: Rules = Rules()) -> CorpusFile:
    """Loads one corpus file; CorpusError names the file, the case and what to fix."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CorpusError(f"{path}: cannot read it as YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise CorpusError(f"{path}: expected a mapping with a `cases:` list at the top")
    try:
        return _file(path, document, base)
    except CaseProblem as problem:
        where = f"{path}: case {problem.case!r}" if problem.case else str(path)
        raise CorpusError(f"{where}: {problem}") from None


def _file(path: Path, document: dict[str, Any], base: Rules) -> CorpusFile:
    _only(document, _FILE_FIELDS, "the file")
    endpoint = document.get("endpoint")
    if endpoint is not None:
        endpoint = _endpoint(endpoint)
    rules = _rules(document.get("compare", {}), base)
    before, before_once = _before(document.get("before", []))
    defaults_block = document.get("defaults", {})
    if not isinstance(defaults_block, dict):
        raise CaseProblem("`defaults:` must be a mapping of request fields")
    _only(defaults_block, _REQUEST_FIELDS, "defaults")
    defaults = _request(defaults_block, Request())
    raw_cases = document.get("cases")
    if not isinstance(raw_cases, list) or not raw_cases:
        raise CaseProblem("`cases:` must be a non-empty list")
    cases = []
    for index, raw in enumerate(raw_cases):
        name = raw.get("name") if isinstance(raw, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise CaseProblem(f"case #{index + 1} needs a `name:` (the test id and ledger key)")
        try:
            cases.append(_case(raw, path, endpoint, rules, before, defaults))
        except CaseProblem as problem:
            raise CaseProblem(str(problem), name) from None
    return CorpusFile(
        path=path,
        cases=tuple(cases),
        endpoint=endpoint,
        rules=rules,
        before=before,
        before_once=before_once,
        defaults=defaults,
        fuzz=_fuzz(document.get("fuzz", True)),
    )


def _case(
    raw: dict[str, Any],
    path: Path,
    endpoint: str | None,
    rules: Rules,
    before: tuple[Step, ...],
    defaults: Request,
) -> Case:
    _only(raw, _CASE_FIELDS, "a case")
    if "steps" in raw:
        inline = sorted(set(raw) & set(_STEP_FIELDS) - {"name"})
        if inline:
            raise CaseProblem(f"give either `steps:` or request fields, not both (found {inline})")
        steps = tuple(_step(item, defaults, f"steps[{i}]") for i, item in _items(raw, "steps"))
        if not steps:
            raise CaseProblem("`steps:` must not be empty")
    else:
        fields = {k: v for k, v in raw.items() if k in _STEP_FIELDS and k != "name"}
        steps = (_step(fields, defaults, ""),)
    stateful = raw.get("stateful", False)
    if not isinstance(stateful, bool):
        raise CaseProblem("`stateful:` must be true or false")
    mixed = raw.get("mixed", False)
    if mixed is True:
        mixed = DEFAULT_MIXED_ORDERS
    elif mixed is False:
        mixed = 0
    elif not isinstance(mixed, int) or not 1 <= mixed <= 1000:
        raise CaseProblem("`mixed:` must be true, false or a number of orders from 1 to 1000")
    if mixed and len(steps) < 2:
        raise CaseProblem("`mixed:` needs at least two steps: it plays them across both backends")
    case = Case(
        name=raw["name"],
        steps=(*before, *steps),
        rules=_rules(raw.get("compare", {}), rules),
        file=path,
        endpoint=endpoint,
        stateful=stateful,
        description=str(raw.get("description", "")),
        mixed=mixed,
    )
    if not any(case.compared(i) for i in range(len(case.steps))):
        raise CaseProblem(
            "no step of it is compared: each is setup (pinned by `backend:` with only pinned"
            " steps before it) or says `compare: false`; unpin a step or give one `compare: true`"
        )
    return case


def _before(block: Any) -> tuple[tuple[Step, ...], bool]:
    """The file's `before:` steps, and whether fuzzing may run them once per endpoint and reuse
    what they captured (`before: {once: true, steps: [...]}`)."""
    once = False
    if isinstance(block, dict):
        _only(block, ("once", "steps"), "`before:`")
        once = block.get("once", False)
        if not isinstance(once, bool):
            raise CaseProblem("`before.once:` must be true or false")
        if not block.get("steps"):
            raise CaseProblem("`before:` as a mapping needs `steps:`, a list of steps")
        block = block["steps"]
    items = _items({"before": block}, "before")
    return tuple(_step(raw, Request(), f"before[{i}]") for i, raw in items), once


def _items(block: dict[str, Any], key: str) -> list[tuple[int, dict[str, Any]]]:
    items = block.get(key, [])
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        hint = " (or {once: true, steps: [...]})" if key == "before" else ""
        raise CaseProblem(f"`{key}:` must be a list of mappings{hint}")
    return list(enumerate(items))


def _step(raw: dict[str, Any], defaults: Request, label: str) -> Step:
    prefix = f"{label}: " if label else ""
    try:
        _only(raw, _LISTED_STEP_FIELDS, "a step")
        capture = raw.get("capture", {})
        if not isinstance(capture, dict):
            raise CaseProblem("`capture:` must map names to $.paths or header:NAME")
        for name, source in capture.items():
            if not isinstance(source, str):
                raise CaseProblem(f"capture {name!r}: give a $.path or header:NAME")
            if not source.lower().startswith("header:"):
                parse_path(source)
        repeat = raw.get("repeat", 1)
        if isinstance(repeat, bool) or not isinstance(repeat, int) or not 1 <= repeat <= 100:
            raise CaseProblem("`repeat:` must be a whole number from 1 to 100")
        backend = raw.get("backend")
        if backend is not None and backend not in ("legacy", "migrated"):
            raise CaseProblem(f"`backend:` {backend!r} must be legacy or migrated")
        compare = raw.get("compare")
        if compare is not None and not isinstance(compare, bool):
            raise CaseProblem(
                "a step's `compare:` is true or false (whether its answers are compared);"
                " comparison rules go in the case's or the file's `compare:`"
            )
        return Step(
            request=_request(raw, defaults),
            name=str(raw.get("name", "")),
            capture=capture,
            repeat=repeat,
            backend=Backend(backend) if backend else None,
            compare=compare,
        )
    except ValueError as exc:
        raise CaseProblem(prefix + str(exc)) from None


def _request(raw: dict[str, Any], defaults: Request) -> Request:
    method = str(raw.get("method", defaults.method)).upper()
    if method not in _METHODS:
        raise CaseProblem(f"method {method!r} is not one of {list(_METHODS)}")
    path = raw.get("path", defaults.path)
    if not isinstance(path, str) or not path.startswith(("/", "${")):
        raise CaseProblem(
            f"path {path!r} must be a string starting with '/' (or a capture such as"
            " '${location}', to follow a redirect)"
        )
    headers = _string_map(raw.get("headers", {}), "headers", nullable=True)
    merged = {k: v for k, v in defaults.headers.items() if k.lower() not in _lower(headers)}
    merged.update(headers)
    query = {**defaults.query, **_query(raw.get("query", {}))}
    bodies = [name for name in ("json", "form", "body") if name in raw]
    if len(bodies) > 1:
        raise CaseProblem(f"give one body, not {' and '.join(bodies)}")
    json_body, form, body = defaults.json, defaults.form, defaults.body
    if bodies:
        json_body, form, body = MISSING, None, None
        if "json" in raw:
            json_body = raw["json"]
        elif "form" in raw:
            form = _string_map(raw["form"], "form", nullable=False)
        else:
            body = raw["body"]
            if not isinstance(body, str | bytes):
                raise CaseProblem("`body:` is raw text (or !!binary); use `json:` for JSON values")
    return Request(method, path, merged, query, json_body, form, body)


def _lower(mapping: Mapping[str, Any]) -> set[str]:
    return {key.lower() for key in mapping}


def _string_map(value: Any, name: str, *, nullable: bool) -> dict[str, Any]:
    """A mapping of names to strings; for headers (`nullable`), also None (not sent) and lists
    (the field repeated)."""
    if not isinstance(value, dict):
        raise CaseProblem(f"`{name}:` must be a mapping")
    result: dict[str, Any] = {}
    for key, item in value.items():
        if item is None and nullable:
            result[str(key)] = None
        elif nullable and isinstance(item, list) and item and all(map(_scalar, item)):
            result[str(key)] = [str(v) for v in item]
        elif _scalar(item):
            result[str(key)] = str(item)
        else:
            hint = " (null removes a default header, a list repeats it)" if nullable else ""
            raise CaseProblem(f"{name}[{key!r}] must be a string{hint}")
    return result


def _scalar(item: Any) -> bool:
    return isinstance(item, str | int | float) and not isinstance(item, bool)


def _query(value: Any) -> dict[str, str | list[str]]:
    if not isinstance(value, dict):
        raise CaseProblem("`query:` must be a mapping of names to strings or lists of strings")
    result: dict[str, str | list[str]] = {}
    for key, item in value.items():
        if isinstance(item, list):
            result[str(key)] = [str(v) for v in item]
        elif item is None or isinstance(item, bool | dict):
            raise CaseProblem(f"query[{key!r}] must be a string, a number or a list")
        else:
            result[str(key)] = str(item)
    return result


def _rules(block: Any, base: Rules) -> Rules:
    if not isinstance(block, dict):
        raise CaseProblem("`compare:` must be a mapping of rules")
    try:
        check_rules(block)
    except ValueError as exc:
        raise CaseProblem(str(exc)) from None
    return base.merged(block)


def _fuzz(block: Any) -> FuzzSpec:
    if isinstance(block, bool):
        return FuzzSpec(enabled=block)
    if not isinstance(block, dict):
        raise CaseProblem("`fuzz:` must be false or a mapping like {examples: 300}")
    _only(block, ("examples", "enabled"), "fuzz")
    examples = block.get("examples")
    if examples is not None and (not isinstance(examples, int) or examples < 1):
        raise CaseProblem("fuzz.examples must be a whole number of at least 1")
    return FuzzSpec(enabled=bool(block.get("enabled", True)), examples=examples)


def _endpoint(value: Any) -> str:
    """The file's endpoint as a route key in the one template syntax (`<id>` and `{id}` alike)."""
    try:
        method, template = parse_route_key(str(value))
    except ValueError:
        method, template = "", ""
    if method not in _METHODS:
        raise CaseProblem(f"endpoint {value!r} must be 'METHOD /path', e.g. 'POST /predict'")
    return route_key(method, template)


def _only(block: Mapping[str, Any], allowed: tuple[str, ...], what: str) -> None:
    unknown = sorted(set(block) - set(allowed))
    if unknown:
        raise CaseProblem(f"unknown key(s) {unknown} in {what}; allowed: {sorted(allowed)}")
