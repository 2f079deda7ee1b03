"""What legacy answers: the scaffold's requests played on the legacy app in process, twice.

    recorded exports ─┐
    corpus cases      ├─► cases ─► played on legacy (the contract runner's in-process side:
    --example         │            reset hook, sandbox, cookies, captures) ─► samples per endpoint
    --capture         ┘            played again ─► the places that differ: volatile (A/A)

Shadow recordings keep requests, not answers, so every source is played here: the samples are
what this legacy, on this data, answers. Playing sends writes to the app's database as it is
configured (the settings' `contract_reset` and `sandbox_databases` apply, as in a contract run):
point it at a scratch database.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import urllib.parse
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from strangler.comparison.cases import MISSING, Case, Request, Rules, Step
from strangler.comparison.compare import Answer, compare
from strangler.comparison.corpus import corpus_files, load_file
from strangler.comparison.errors import CorpusError
from strangler.contracts.runner import Played, play
from strangler.contracts.targets import in_process
from strangler.errors import ConfigError
from strangler.routing.inventory import werkzeug_router
from strangler.routing.templates import normalise_template, route_key
from strangler.scaffold.routes import Route
from strangler.settings import Settings, import_string
from strangler.types import Backend

# The other side of the in-process gateway: nothing migrated, so both sides are legacy.
NOTHING_MIGRATED = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
_NOTHING = "strangler.scaffold.capture:NOTHING_MIGRATED"


@dataclasses.dataclass(frozen=True)
class Sample:
    """One request legacy answered, and the answer."""

    case: str
    request: Request
    answer: Answer

    @property
    def content_type(self) -> str:
        return (self.answer.header("content-type") or "").split(";")[0].strip().lower()

    @property
    def json(self) -> Any:
        """The answer's JSON value, or MISSING where it is not JSON."""
        if "json" not in self.content_type:
            return MISSING
        try:
            return json.loads(self.answer.body)
        except ValueError:
            return MISSING


@dataclasses.dataclass
class Captured:
    """Each endpoint's samples; the cases of each endpoint's corpus file, and the places
    that differed between two plays of one of them (volatile: a uuid, a time)."""

    samples: dict[str, list[Sample]] = dataclasses.field(default_factory=dict)
    cases: dict[str, list[Case]] = dataclasses.field(default_factory=dict)
    volatile: dict[str, set[str]] = dataclasses.field(default_factory=dict)
    problems: list[str] = dataclasses.field(default_factory=list)


def recorded_cases(paths: Iterable[Path]) -> list[Case]:
    """The cases of exported corpus files (`strangler shadow export`), or of every file in a
    folder of them; `_shadow_…` files (not ready: they need a login) are read too."""
    cases: list[Case] = []
    for path in paths:
        files = sorted([*path.glob("*.yaml"), *path.glob("*.yml")]) if path.is_dir() else [path]
        for file in files:
            try:
                cases += load_file(file).cases
            except CorpusError as exc:
                raise ConfigError(f"--recorded: {exc}") from None
    return cases


def corpus_cases(folder: Path, ledger: Path | None = None) -> list[Case]:
    """The cases of the contract corpus (files that would not load are left out)."""
    cases: list[Case] = []
    if folder.is_dir():
        for file in corpus_files(folder, ledger):
            try:
                cases += load_file(file).cases
            except CorpusError:
                continue  # `strangler contract run` says what is wrong with it
    return cases


def example_case(text: str) -> Case:
    """`GET /post/1?x=2` as a one-request case; a JSON body may follow the path."""
    method, _, rest = text.strip().partition(" ")
    target, _, body = rest.strip().partition(" ")
    if not method or not target.startswith("/"):
        raise ConfigError(f"--example {text!r}: write it as 'METHOD /path?query [JSON body]'")
    path, _, query = target.partition("?")
    request = Request(
        method=method.upper(),
        path=path,
        query={k: v[0] if len(v) == 1 else v for k, v in urllib.parse.parse_qs(query).items()},
        json=json.loads(body) if body.strip() else MISSING,
    )
    return Case(name=f"example-{_slug(text)}", steps=(Step(request),))


_EXAMPLE_VALUES = {
    "int": "1",
    "float": "1.5",
    "path": "a/b",
    "uuid": str(uuid.UUID(int=1)),
}


def synthesized_case(route: Route) -> Case:
    """A request to `route` with an example value for each path parameter (`--capture` for
    endpoints no source has a request for): its answer is at least the 4xx legacy gives."""
    values = {}
    for param in route.params:
        value = _EXAMPLE_VALUES.get(param.converter, "example")
        if param.python.startswith("Literal["):
            value = param.python[len("Literal['") :].split("'")[0]
        values[param.name] = value
    path = route.rule
    for param in route.params:
        start = path.index("<")
        path = path[:start] + values[param.name] + path[path.index(">", start) + 1 :]
    request = Request(method=route.method, path=path)
    return Case(name=f"captured-{_slug(route.key)}", steps=(Step(request),))


def capture(
    settings: Settings, routes: Sequence[Route], cases: Sequence[Case], *, synthesize: bool
) -> Captured:
    """Plays every case touching one of `routes` on legacy twice (and with `synthesize`, one
    made-up request per route no case touches), keeping each endpoint's samples."""
    legacy = import_string(settings.legacy, settings.root)
    url_map = getattr(legacy, "url_map", None)
    if url_map is None:
        raise ConfigError(f"{settings.legacy} is not a Flask app: the scaffold reads its url_map")
    router = werkzeug_router(url_map)
    keys = {route.key for route in routes}

    def endpoint_of(request: Request) -> str | None:
        template = router(request.method, urllib.parse.urlsplit(request.path).path)
        key = route_key(request.method, normalise_template(template)) if template else None
        return key if key in keys else None

    chosen = [c for c in cases if any(endpoint_of(s.request) for s in c.steps)]
    touched = {endpoint_of(s.request) for c in chosen for s in c.steps}
    if synthesize:
        chosen += [synthesized_case(r) for r in routes if r.key not in touched]
    captured = Captured()
    if not chosen:
        return captured
    plays = asyncio.run(_play_twice(dataclasses.replace(settings, migrated=_NOTHING), chosen))
    for case, (first, second) in zip(chosen, plays, strict=True):
        captured.problems += [f"{case.where}: {error}" for error in first.errors]
        hits = [key for s in case.steps if (key := endpoint_of(s.request)) is not None]
        # Each case goes in one corpus file (case names are unique in a corpus): its own
        # file's endpoint where that is drafted, else the last drafted endpoint it reaches.
        home = case.endpoint if case.endpoint in hits else hits[-1]
        captured.cases.setdefault(home, []).append(case)
        volatile = captured.volatile.setdefault(home, set())
        for sent, again in zip(first.answers, second.answers, strict=False):
            key = endpoint_of(sent.request)
            volatile.update(d.where for d in compare(sent.answer, again.answer, Rules()))
            if key is not None:
                sample = Sample(case.name, sent.request, sent.answer)
                captured.samples.setdefault(key, []).append(sample)
    return captured


async def _play_twice(settings: Settings, cases: Sequence[Case]) -> list[tuple[Played, Played]]:
    hook = (
        import_string(settings.contract_reset, settings.root) if settings.contract_reset else None
    )
    plays = []
    async with in_process(settings, hook) as (legacy, migrated):
        sides = {Backend.LEGACY: legacy, Backend.MIGRATED: migrated}
        for case in cases:
            order = tuple(Backend.LEGACY for _ in case.steps)  # pinned steps too
            plays.append((await play(case, order, sides), await play(case, order, sides)))
    return plays


def _slug(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())[:60]
