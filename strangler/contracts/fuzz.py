"""Differential fuzzing: generated requests to both sides until one differs, then shrunk.

For each corpus file that names an `endpoint:`, Hypothesis searches (`hypothesis.find`) for a
request whose answers differ in a way the ledger does not declare; it tries `examples` requests,
seeded so a CI run is reproducible. A failure is shrunk to a minimal request and printed as a
corpus case ready to paste into the file. Each example is a one-step scenario after the file's
`before:` steps (so it logs in), from fresh state on each side.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import yaml
from hypothesis import HealthCheck, Phase, Verbosity, find, settings
from hypothesis.errors import NoSuchExample

from strangler.comparison.cases import MISSING, Case, Request, Step
from strangler.comparison.corpus import CorpusFile
from strangler.comparison.results import CaseResult, FuzzResult
from strangler.contracts.strategies import Schema, requests
from strangler.routing.templates import parse_route_key, template_shape


def operation(document: Mapping[str, Any] | None, endpoint: str) -> Mapping[str, Any] | None:
    """The OpenAPI operation for 'METHOD /template' (`<int:id>` and `{id}` alike), or None."""
    if not document:
        return None
    method, template = parse_route_key(endpoint)
    wanted = template_shape(template)
    for path, item in (document.get("paths") or {}).items():
        if template_shape(path) == wanted and isinstance(item, dict):
            found = item.get(method.lower())
            return found if isinstance(found, dict) else None
    return None


def operations(document: Mapping[str, Any] | None) -> list[str]:
    """Every 'METHOD /path' the OpenAPI document describes."""
    methods = ("get", "put", "post", "delete", "patch")
    return sorted(
        f"{method.upper()} {path}"
        for path, item in ((document or {}).get("paths") or {}).items()
        for method in methods
        if isinstance(item, dict) and method in item
    )


def fuzz_case(file: CorpusFile, request: Request) -> Case:
    """The one-step scenario that sends a generated request after the file's `before:` steps."""
    endpoint = file.endpoint or request.target
    return Case(
        name=f"fuzz-{_slug(endpoint)}",
        steps=(*file.before, Step(request)),
        rules=file.rules,
        file=file.path,
        endpoint=file.endpoint,
    )


def fuzz_endpoint(
    file: CorpusFile,
    document: Mapping[str, Any] | None,
    run: Callable[[Case], CaseResult],
    *,
    examples: int,
    seed: int,
) -> FuzzResult:
    """Searches for an undeclared difference on the file's endpoint; shrinks the first found."""
    assert file.endpoint is not None, "only files with an `endpoint:` are fuzzed"
    started = time.perf_counter()
    result = FuzzResult(file.endpoint, seed=seed)
    schema = Schema(document)
    strategy = requests(file.endpoint, operation(document, file.endpoint), file.defaults, schema)
    result.notes = schema.notes  # what the generated requests could not follow

    def differs(request: Request) -> bool:
        result.examples += 1
        outcome = run(fuzz_case(file, request))
        result.compared += outcome.compared
        for found in outcome.declared:
            result.declared[found.where] = result.declared.get(found.where, 0) + 1
            if found.declared is not None:
                result.entries[found.declared] += 1
        return outcome.failed

    options = settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=(Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
    )
    try:
        minimal = find(strategy, differs, settings=options, random=random.Random(seed))
    except NoSuchExample:
        pass
    else:
        result.minimal = minimal
        result.failure = run(fuzz_case(file, minimal))
    result.seconds = time.perf_counter() - started
    return result


def as_corpus_case(request: Request, defaults: Request, name: str | None = None) -> str:
    """A request as YAML for the `cases:` list of its file (fields equal to `defaults` left out)."""
    case: dict[str, Any] = {"name": name or ""}
    if request.method != defaults.method:
        case["method"] = request.method
    if request.path != defaults.path:
        case["path"] = request.path
    headers = {k: v for k, v in request.headers.items() if defaults.headers.get(k, "") != v}
    headers.update({k: None for k in defaults.headers if k not in request.headers})
    if headers:
        case["headers"] = headers
    if request.query:
        case["query"] = dict(request.query)
    if request.json is not MISSING:
        case["json"] = request.json
    elif request.form is not None:
        case["form"] = dict(request.form)
    elif request.body is not None:
        body = request.body
        if isinstance(body, bytes):
            with contextlib.suppress(UnicodeDecodeError):
                body = body.decode("utf-8")
        case["body"] = body
    text = yaml.safe_dump([case], sort_keys=False, allow_unicode=True, width=100)
    if not name:
        digest = hashlib.sha256(text.encode()).hexdigest()[:8]
        case["name"] = f"fuzz-{_slug(request.target)}-{digest}"
        text = yaml.safe_dump([case], sort_keys=False, allow_unicode=True, width=100)
    return text


def _slug(endpoint: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", endpoint.lower()).strip("-")
