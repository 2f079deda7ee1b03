"""Differential fuzzing: generated requests to both sides until one differs, then shrunk.

For each corpus file that names an `endpoint:`, Hypothesis searches (`hypothesis.find`) for a
request whose answers differ in a way the ledger does not declare; it tries `examples` requests,
seeded so a CI run is reproducible. A failure is shrunk to a minimal request (by Hypothesis, then
by `shrink.isolate`, so it carries one cause) and printed as a corpus case ready to paste into
the file. Each example is a one-step scenario after the file's `before:` steps (so it logs in),
from fresh state on each side. A file whose `before:` says `once: true` has its steps played
once per endpoint instead (runner.prime), and every example starts from what they captured and
the cookies they got: no login per example, where its token outlives the setup's state.
A difference that is gone when Hypothesis replays it (a play changed state the next one sees:
a live gateway that cannot reset) is reported all the same, with the request that showed it,
not shrunk, and a note (FuzzResult.unsteady).
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import re
import time
from collections.abc import Callable, Hashable, Mapping
from typing import Any, Final, Protocol

import yaml
from hypothesis import HealthCheck, Phase, Verbosity, find, settings
from hypothesis.errors import Flaky, HypothesisException, NoSuchExample

from strangler.comparison.cases import MISSING, Case, Request, Step
from strangler.comparison.corpus import CorpusFile
from strangler.comparison.results import CaseResult, FuzzResult
from strangler.contracts.budget import OutOfTime
from strangler.contracts.runner import Primed
from strangler.contracts.shrink import isolate
from strangler.contracts.strategies import Schema, requests
from strangler.routing.templates import parse_route_key, template_shape

# Said of a difference that did not come back when replayed (FuzzResult.unsteady).
UNSTEADY: Final = (
    "it did not differ again when replayed, so it may depend on state a play left"
    " (nothing reset it between plays); not shrunk"
)


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


class RunCase(Protocol):
    """Plays a case on both sides and compares (ContractSession.run_case); with `primed`, each
    play starts from what a `once` setup left."""

    def __call__(self, case: Case, primed: Primed | None = None, /) -> CaseResult: ...


def fuzz_case(file: CorpusFile, request: Request, *, primed: bool = False) -> Case:
    """The one-step scenario that sends a generated request after the file's `before:` steps
    (`primed`: after nothing, its plays starting from a `once` setup's)."""
    endpoint = file.endpoint or request.target
    return Case(
        name=f"fuzz-{_slug(endpoint)}",
        steps=(Step(request),) if primed else (*file.before, Step(request)),
        rules=file.rules,
        file=file.path,
        endpoint=file.endpoint,
    )


def setup_case(file: CorpusFile) -> Case:
    """The file's `before:` steps as a scenario of their own, for `prime` to play once."""
    return Case(
        name=f"fuzz-{_slug(file.endpoint or '')}-setup",
        steps=file.before,
        rules=file.rules,
        file=file.path,
        endpoint=file.endpoint,
    )


def fuzz_endpoint(
    file: CorpusFile,
    document: Mapping[str, Any] | None,
    run: RunCase,
    *,
    examples: int,
    seed: int,
    prime: Callable[[Case], Primed] | None = None,
) -> FuzzResult:
    """Searches for an undeclared difference on the file's endpoint; shrinks the first found.

    With `prime` (ContractSession.prime) and a `before: {once: true}`, the setup is played once
    here, and an error in it ends the fuzzing of the endpoint (its result says so).
    `run` may raise OutOfTime (a time budget): the search stops there, and the result says it
    was cut short, with the smallest failing request found so far, if any."""
    assert file.endpoint is not None, "only files with an `endpoint:` are fuzzed"
    started = time.perf_counter()
    result = FuzzResult(file.endpoint, seed=seed, wanted=examples)
    failing: list[tuple[Request, CaseResult]] = []  # the smallest failing example so far
    schema = Schema(document)
    strategy = requests(file.endpoint, operation(document, file.endpoint), file.defaults, schema)
    result.notes = schema.notes  # what the generated requests could not follow
    primed: Primed | None = None
    if file.before_once and file.before and prime is not None:
        primed = prime(setup_case(file))
        errors = list(dict.fromkeys(e for p in primed.values() for e in p.errors))
        if errors:
            result.error = f"its `before:` (once) failed, so nothing was fuzzed: {errors[0]}"
            result.seconds = time.perf_counter() - started
            return result

    def play(request: Request) -> CaseResult:
        if primed is None:
            return run(fuzz_case(file, request))
        return run(fuzz_case(file, request, primed=True), primed)

    def differs(request: Request) -> bool:
        outcome = play(request)
        result.examples += 1  # done: an example a budget cut off is not counted
        result.compared += outcome.compared
        for found in outcome.declared:
            result.declared[found.where] = result.declared.get(found.where, 0) + 1
            if found.declared is not None:
                result.entries[found.declared] += 1
        if outcome.failed:
            failing[:] = [(request, outcome)]  # each one found is no larger than the last
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
        find(strategy, differs, settings=options, random=random.Random(seed))
    except NoSuchExample:
        pass
    except OutOfTime as stop:
        result.cut_short = stop.why
        if failing:
            result.minimal, result.failure = failing[-1]
    except Flaky as flaky:
        # What one play changed reached the next (a live gateway that cannot reset, state the
        # reset hook misses), so the difference found did not come back when Hypothesis
        # replayed it. It was seen all the same: reported with the play that showed it.
        inner = list(flaky.exceptions) if isinstance(flaky, BaseExceptionGroup) else []
        ran_out = next((e for e in inner if isinstance(e, OutOfTime)), None)
        if failing:
            result.minimal, result.failure = failing[-1]
            result.unsteady = None if ran_out else UNSTEADY  # not a replay the budget stopped
        elif ran_out is None:  # no difference; an error that did not come back: that error
            error = next((e for e in inner if not isinstance(e, HypothesisException)), None)
            if error is None:
                raise
            raise error from flaky  # a side that stopped answering: the endpoint's error
        result.cut_short = ran_out.why if ran_out else None
    else:
        # find's last play was of its minimal example, replayed: it differed again, so that
        # play is the failure (one more replay is a request pair that state could change).
        result.minimal, result.failure = failing[-1]
        tried: list[tuple[Request, CaseResult]] = []  # the plays of `isolate`'s candidates

        def verdict(request: Request) -> frozenset[Hashable]:
            tried.append((request, play(request)))
            return _causes(tried[-1][1])

        try:
            shrunk = isolate(result.minimal, file.defaults, verdict, _causes(result.failure))
        except OutOfTime as stop:
            result.cut_short = stop.why
        else:  # the play that made it the simplest, not a replay that state may change
            result.failure = next((o for r, o in reversed(tried) if r is shrunk), result.failure)
            result.minimal = shrunk
    result.seconds = time.perf_counter() - started
    return result


def _causes(outcome: CaseResult) -> frozenset[Hashable]:
    """Where a play differs, undeclared: what `isolate` must keep (and not add to)."""
    return frozenset((found.step, found.where) for found in outcome.undeclared)


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
