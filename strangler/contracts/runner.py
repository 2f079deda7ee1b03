"""Replays a case on each side from fresh state, then compares the answers step by step.

    reset legacy ─► steps on legacy (captures substituted) ─┐
    reset migrated ─► steps on migrated ────────────────────┴─► compare each pair ─► ledger

The sides run one after the other, never interleaved, so state one side leaves behind (a shared
cache) is cleared by the reset hook before the other side starts.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Mapping
from typing import Any

from strangler.contracts import jsonpath
from strangler.contracts.cases import MISSING, Case, Request, Step
from strangler.contracts.compare import Answer, compare
from strangler.contracts.ledger import Ledger
from strangler.contracts.results import CaseResult, Found
from strangler.contracts.targets import Target

_VARIABLE = re.compile(r"\$\{([A-Za-z_]\w*)\}")


@dataclasses.dataclass
class Played:
    """One side's run of a case: a labelled answer per request sent, and what went wrong."""

    answers: list[tuple[str, Request, Answer]] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)


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
        path=substitute(request.path, variables, unset),
        headers=substitute(dict(request.headers), variables, unset),
        query=substitute(dict(request.query), variables, unset),
        json=request.json
        if request.json is MISSING
        else substitute(request.json, variables, unset),
        form=substitute(request.form, variables, unset) if request.form is not None else None,
        body=substitute(request.body, variables, unset),
    )


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


async def play(case: Case, target: Target) -> Played:
    """Runs the case's steps on one side, from fresh state."""
    played = Played()
    await target.reset()
    variables: dict[str, str] = {}
    for index, step in enumerate(case.steps):
        for repeat in range(step.repeat):
            label = step_label(case, index, step, repeat)
            unset: set[str] = set()
            request = prepare(step.request, variables, unset)
            for name in sorted(unset):
                played.errors.append(
                    f"{label or 'request'} on {target.backend}: ${{{name}}} is not set"
                    " (no earlier step captured it)"
                )
            answer = await target.send(request)
            played.answers.append((label, request, answer))
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


async def run_case(case: Case, legacy: Target, migrated: Target, ledger: Ledger) -> CaseResult:
    """Plays the case on both sides and returns its differences, each declared or not."""
    started = time.perf_counter()
    result = CaseResult(case)
    if case.stateful and not (legacy.can_reset and migrated.can_reset):
        result.skipped = "stateful case, and this target has no reset hook (contract_reset)"
        return result
    ours = await play(case, legacy)
    theirs = await play(case, migrated)
    result.errors = _unique([*ours.errors, *theirs.errors])
    ledger.ran(case.name, [case.endpoint, *(r.target for _, r, _ in ours.answers)])
    for (label, request, mine), (_, _, yours) in zip(ours.answers, theirs.answers, strict=True):
        for difference in compare(mine, yours, case.rules):
            endpoints = [case.endpoint, request.target]
            entry = ledger.declare(case.name, endpoints, difference.where, request.target)
            result.differences.append(
                Found(
                    case.name,
                    label,
                    request.target,
                    difference.where,
                    difference.legacy,
                    difference.migrated,
                    entry,
                )
            )
    result.seconds = time.perf_counter() - started
    return result


def _unique(errors: list[str]) -> list[str]:
    return list(dict.fromkeys(errors))
