"""Replays a case on each side from fresh state, then compares the answers step by step.

    reset ─► every step on legacy (captures substituted, one cookie jar) ─┐  the reference
    reset ─► every step on migrated ──────────────────────────────────────┴─► compare each pair
    reset ─► a mixed order: some steps on each backend (`mixed:` cases) ───┘     ─► ledger

The plays run one after the other, never interleaved, so state one leaves behind (a shared
cache) is cleared by the reset hook before the next starts. Where the sides are sandboxed (a
database registered: see targets.in_process), each play runs in a Sandbox of its own: every
play starts from the database as it was, sees its own writes (both apps' engines on one
database share the sandbox's transaction, so a mixed order reads across backends), and its
writes are rolled back at its end; shared code asking `strangler.sandbox.context.active()`
skips its caches. Where there is neither, each play starts from whatever the last one left.

Each play has a cookie jar of its own, empty at the start: cookies carry from step to step (and
across backends in a mixed order), never from one case or play to the next. A step pinned to a
backend (`backend:`) goes there in every play. Setup steps (Case.compared) run in every play,
and their answers are not compared. Fuzzing with a `once` setup plays it once per side (`prime`)
and starts every example's plays from what it left: its captures and its cookies.
"""

from __future__ import annotations

import dataclasses
import http.cookiejar
import itertools
import json
import random
import re
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import httpx

from strangler.comparison import jsonpath
from strangler.comparison.cases import MISSING, Case, Request, Rules, Step
from strangler.comparison.compare import Answer, Difference, compare
from strangler.comparison.ledger import Ledger
from strangler.comparison.results import CaseResult, Found
from strangler.contracts.targets import Target
from strangler.sandbox.context import Sandbox
from strangler.types import Backend

_VARIABLE = re.compile(r"\$\{([A-Za-z_]\w*)\}")


Order = tuple[Backend, ...]  # the backend of each step of a case, in order


class Sent(NamedTuple):
    """One request of a play: how reports name it, what was sent, where, and the answer."""

    label: str
    request: Request
    backend: Backend
    answer: Answer
    compared: bool = True  # False for a setup step's answer (Case.compared)


@dataclasses.dataclass
class Played:
    """One play of a case: every request sent, and what went wrong."""

    order: Order
    answers: list[Sent] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)
    variables: dict[str, str] = dataclasses.field(default_factory=dict)  # captured at its end
    cookies: httpx.Cookies | None = None  # its jar at its end


Primed = Mapping[Backend, Played]  # a `once` setup's play, by the side whose plays start from it


def substitute(value: Any, variables: Mapping[str, str], unset: set[str]) -> Any:
    """`value` with each `${name}` replaced; unknown names become "" and are added to `unset`."""
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            if match[1] not in variables:
                unset.add(match[1])
            return variables.get(match[1], "")

        return _VARIABLE.sub(replace, value)
    if isinstance(value, list):
        return [substitute(v, variables, unset) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, variables, unset) for k, v in value.items()}
    return value


def prepare(request: Request, variables: Mapping[str, str], unset: set[str]) -> Request:
    """The request as sent: captures substituted in path, headers, query and body."""
    return dataclasses.replace(
        request,
        path=local_path(substitute(request.path, variables, unset)),
        headers=substitute(dict(request.headers), variables, unset),
        query=substitute(dict(request.query), variables, unset),
        json=request.json
        if request.json is MISSING
        else substitute(request.json, variables, unset),
        form=substitute(request.form, variables, unset) if request.form is not None else None,
        body=substitute(request.body, variables, unset),
    )


def local_path(path: str) -> str:
    """A captured Location made a path on this gateway: `http://host/me?x=1` is `/me?x=1`, so
    a redirect issued by one backend can be followed on the other."""
    if path.startswith("/"):
        return path
    parts = urllib.parse.urlsplit(path)
    local = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return local if local.startswith("/") else "/" + local


def capture(answer: Answer, source: str) -> str | None:
    """The value `source` (`$.path` or `header:NAME`) names in an answer, as a string."""
    if source.lower().startswith("header:"):
        return answer.header(source.split(":", 1)[1].strip())
    try:
        document = json.loads(answer.body)
    except ValueError:
        return None
    found = jsonpath.find(document, jsonpath.parse(source))
    if not found or found[0] is None:
        return None
    return found[0] if isinstance(found[0], str) else json.dumps(found[0])


def step_label(case: Case, index: int, step: Step, repeat: int) -> str:
    """How reports name a request: "" for a one-request case, else its step (and repeat)."""
    if len(case.steps) == 1 and step.repeat == 1:
        return ""
    label = f"step {index + 1}" + (f" ({step.name})" if step.name else "")
    return label + (f" #{repeat + 1}" if step.repeat > 1 else "")


def order_label(order: Order) -> str:
    """A mixed order as reports name it: `legacy→migrated→legacy`."""
    return "→".join(backend.value for backend in order)


def uniform(case: Case, backend: Backend) -> Order:
    """Every step on `backend`, but for the steps pinned elsewhere."""
    return tuple(step.backend or backend for step in case.steps)


def mixed_orders(case: Case, seed: int = 0) -> list[Order]:
    """The orders a mixed case is also played in, besides all-legacy and all-migrated: each
    switch from one backend to the other at one step (what a canary does to a caller whose
    bucket moves), then others in a seeded random order, up to `case.mixed`, none repeated."""
    free = [i for i, step in enumerate(case.steps) if step.backend is None]
    seen = {uniform(case, Backend.LEGACY), uniform(case, Backend.MIGRATED)}
    orders: list[Order] = []

    def add(choice: dict[int, Backend]) -> None:
        order = tuple(step.backend or choice[i] for i, step in enumerate(case.steps))
        if order not in seen and len(orders) < case.mixed:
            seen.add(order)
            orders.append(order)

    for at in range(1, len(free)):
        for first, then in ((Backend.LEGACY, Backend.MIGRATED), (Backend.MIGRATED, Backend.LEGACY)):
            add({i: first if n < at else then for n, i in enumerate(free)})
    chooser = random.Random(f"{seed}:{case.name}")
    if len(free) <= 12:  # every order there is, in a seeded shuffle
        everything = list(itertools.product(list(Backend), repeat=len(free)))
        chooser.shuffle(everything)
        for backends in everything:
            add(dict(zip(free, backends, strict=True)))
    else:
        for _ in range(4 * case.mixed):
            add({i: chooser.choice(list(Backend)) for i in free})
    return orders


class _SecureToo(http.cookiejar.DefaultCookiePolicy):
    """Sends Secure cookies over plain http too: in process the gateway is reached over http,
    where a browser of the real service would be on https. Left out, a login's Secure session
    cookie would never come back, and every logged-in step would compare two logged-out
    answers."""

    def return_ok_secure(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return True


def scenario_cookies() -> httpx.Cookies:
    """A scenario's cookie jar: empty at the start of each play."""
    return httpx.Cookies(http.cookiejar.CookieJar(_SecureToo()))


async def play(
    case: Case, order: Order, sides: Mapping[Backend, Target], start: Played | None = None
) -> Played:
    """Runs the case's steps, step i on `sides[order[i]]`, from fresh state, with one jar:
    after the reset hook, and in a sandbox of its own where the sides are sandboxed. With
    `start` (a `once` setup's play), its captures and cookies are there from the first step."""
    await sides[order[0]].reset()
    if any(sides[backend].sandboxed for backend in order):
        async with Sandbox(label=f"contract case {case.name}"):
            return await _steps(case, order, sides, start)
    return await _steps(case, order, sides, start)


async def prime(setup: Case, legacy: Target, migrated: Target) -> Primed:
    """Plays a `once` setup for later plays to start from: all on legacy (for the reference
    plays) and all on migrated (for the others), or once for both where every step is pinned.
    Its answers are not compared; its errors (a capture that found nothing) are the plays'."""
    sides = {Backend.LEGACY: legacy, Backend.MIGRATED: migrated}
    primed: dict[Backend, Played] = {}
    for backend in (Backend.LEGACY, Backend.MIGRATED):
        order = uniform(setup, backend)
        same = [p for p in primed.values() if p.order == order]
        primed[backend] = same[0] if same else await play(setup, order, sides)
    return primed


async def _steps(
    case: Case, order: Order, sides: Mapping[Backend, Target], start: Played | None
) -> Played:
    played = Played(order)
    cookies = scenario_cookies()
    variables: dict[str, str] = {}
    if start is not None:
        variables.update(start.variables)
        if start.cookies is not None:
            for cookie in start.cookies.jar:
                cookies.jar.set_cookie(cookie)
    played.cookies, played.variables = cookies, variables
    for index, step in enumerate(case.steps):
        target = sides[order[index]]
        for repeat in range(step.repeat):
            label = step_label(case, index, step, repeat)
            unset: set[str] = set()
            request = prepare(step.request, variables, unset)
            for name in sorted(unset):
                played.errors.append(
                    f"{label or 'request'} on {target.backend}: ${{{name}}} is not set"
                    " (no earlier step captured it)"
                )
            answer = await target.send(request, cookies)
            compared = case.compared(index)
            played.answers.append(Sent(label, request, target.backend, answer, compared))
        for name, source in step.capture.items():
            value = capture(answer, source)
            if value is None:
                played.errors.append(
                    f"step {index + 1} on {target.backend}: capture {name!r} found nothing at"
                    f" {source} (status {answer.status})"
                )
            else:
                variables[name] = value
    return played


async def run_case(
    case: Case,
    legacy: Target,
    migrated: Target,
    ledger: Ledger,
    *,
    seed: int = 0,
    primed: Primed | None = None,
) -> CaseResult:
    """Plays the case all on legacy (the reference), all on migrated, and for a mixed case in
    mixed orders too; returns every play's differences from the reference, declared or not.
    With `primed` (see `prime`), the reference starts from its legacy play, the others from
    its migrated one."""
    started = time.perf_counter()
    result = CaseResult(case)
    sides = {Backend.LEGACY: legacy, Backend.MIGRATED: migrated}
    primed = primed or {}
    reference = await play(case, uniform(case, Backend.LEGACY), sides, primed.get(Backend.LEGACY))
    others = [uniform(case, Backend.MIGRATED)]
    if case.mixed:
        others += mixed_orders(case, seed)
    start = primed.get(Backend.MIGRATED)
    plays = [await play(case, order, sides, start) for order in others]
    result.errors = _unique([e for p in (reference, *plays) for e in p.errors])
    for played in plays:
        prefix = f"[{order_label(played.order)}] " if case.mixed else ""
        for ours, theirs in zip(reference.answers, played.answers, strict=True):
            step = (prefix + ours.label).strip()
            for sent in (ours, theirs):
                if sent.answer.raised:
                    note = f"{step or 'the request'} on {sent.backend} raised {sent.answer.raised}"
                    result.raised.append(note)
            if not ours.compared:  # setup: run on both sides, its answers not compared
                result.uncompared.append(ours.label or "the request")
                continue
            result.compared += 1
            target = ours.request.target
            statuses = (ours.answer.status, theirs.answer.status)
            for difference in _differences(ours.answer, theirs.answer, case.rules):
                entry = ledger.declare(
                    case.name,
                    [case.endpoint, target],
                    difference.where,
                    target,
                    statuses,
                    theirs.backend,
                )
                result.differences.append(
                    Found(
                        case.name,
                        step,
                        target,
                        difference.where,
                        difference.legacy,
                        difference.migrated,
                        entry,
                        statuses,
                        theirs.backend,
                    )
                )
    result.raised = _unique(result.raised)
    result.uncompared = _unique(result.uncompared)
    result.seconds = time.perf_counter() - started
    return result


def _differences(ours: Answer, theirs: Answer, rules: Rules) -> list[Difference]:
    """What `compare` finds, and a response cut off on one side only (`where: response`): an
    exception after the answer began, which its status and first bytes do not show. (An
    exception answered with a whole 500 page shows in the status and body already.)"""
    found = compare(ours, theirs, rules)
    if ours.broken != theirs.broken:
        state = {True: "cut off", False: "complete"}
        found.append(Difference("response", state[ours.broken], state[theirs.broken]))
    return found


def _unique(errors: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(errors))
