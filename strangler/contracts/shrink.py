"""Isolates one cause in a failing fuzzed request: drops what Hypothesis's shrinking left and
the failure does not need.

Hypothesis shrinks the choices it drew, not the request they built, so its minimal example may
still carry a part that is not the cause (a doubled Content-Type beside the bad field that is).
`isolate` tries each request one step simpler (a doubled header sent once, a header back to the
file's default or not sent, the body back to the file's default, a query or form field, a JSON
key or list item dropped) and keeps it when it still fails with no difference it did not have:

    verdict(request) -> where it differs ({"status", "$.error"}), empty when it passes

so each kept step removes a part that was not a cause, or one of two causes, and the minimal
case explains one thing. Every try is a request pair, so the tries are bounded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Iterator
from typing import Any, Final

from strangler.comparison.cases import MISSING, Request

Verdict = Callable[[Request], frozenset[Hashable]]
MAX_TRIES: Final = 60  # simpler requests tried after a failure: each is one example's plays


def isolate(
    request: Request,
    defaults: Request,
    verdict: Verdict,
    causes: frozenset[Hashable],
    *,
    tries: int = MAX_TRIES,
) -> Request:
    """The simplest request reached from `request` (which fails with `causes`) by steps that
    each keep it failing with some of the differences it had, and none it did not."""
    simplified = True
    while simplified and tries > 0:
        simplified = False
        for candidate in simpler(request, defaults):
            tries -= 1
            found = verdict(candidate)
            if found and found <= causes:
                request, causes, simplified = candidate, found, True
                break
            if tries <= 0:
                break
    return request


def simpler(request: Request, defaults: Request) -> Iterator[Request]:
    """Each request one step simpler than `request`, headers first, then the body."""
    for name, value in request.headers.items():
        default = _header(defaults.headers, name)
        if isinstance(value, list) and len(value) > 1:
            yield _with_header(request, name, value[0])  # a doubled header, sent once
        if default is _ABSENT:
            yield _with_header(request, name, _ABSENT)  # a header the file does not send
        elif value != default:
            yield _with_header(request, name, default)  # back to the file's value
    for name, default in defaults.headers.items():
        if _header(request.headers, name) is _ABSENT:
            yield _with_header(request, name, default)
    for name in request.query:
        if request.query[name] != defaults.query.get(name):
            query = {k: v for k, v in request.query.items() if k != name}
            if name in defaults.query:
                query[name] = defaults.query[name]
            yield dataclasses.replace(request, query=query)
    body = (request.json, request.form, request.body)
    default_body = (defaults.json, defaults.form, defaults.body)
    if repr(body) == repr(default_body):  # repr: NaN, which a body may hold, equals itself
        return
    yield dataclasses.replace(request, json=defaults.json, form=defaults.form, body=defaults.body)
    if request.form is not None:
        for name in request.form:
            form = {k: v for k, v in request.form.items() if k != name}
            yield dataclasses.replace(request, form=form)
    if request.json is not MISSING:
        for body in _dropped(request.json):
            yield dataclasses.replace(request, json=body)


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


_ABSENT: Final = _Absent()  # a header not in the mapping at all (None is "not sent")


def _header(headers: Any, name: str) -> Any:
    """The value of header `name` in `headers` (any case), or _ABSENT."""
    return next((v for k, v in headers.items() if k.lower() == name.lower()), _ABSENT)


def _with_header(request: Request, name: str, value: Any) -> Request:
    headers = {k: v for k, v in request.headers.items() if k.lower() != name.lower()}
    if value is not _ABSENT:
        headers[name] = value
    return dataclasses.replace(request, headers=headers)


def _dropped(value: Any) -> Iterator[Any]:
    """`value` with one key or list item removed, for each there is, the outermost first."""
    if isinstance(value, dict):
        for key in value:
            yield {k: v for k, v in value.items() if k != key}
        for key, item in value.items():
            for smaller in _dropped(item):
                yield {**value, key: smaller}
    elif isinstance(value, list):
        for index in range(len(value)):
            yield value[:index] + value[index + 1 :]
        for index, item in enumerate(value):
            for smaller in _dropped(item):
                yield [*value[:index], smaller, *value[index + 1 :]]
