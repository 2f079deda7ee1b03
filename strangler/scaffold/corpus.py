"""The corpus file of an endpoint's scaffold: the cases whose requests made its samples.

Its `compare:` ignores what differed when legacy answered the same case twice (a uuid, a
time): without it the file would fail legacy against itself. A case that differed as a whole
(`status`, a non-JSON body) is kept with a description saying so, for its author to decide.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

from strangler.comparison.cases import MISSING, Case, Request, Step
from strangler.scaffold.capture import Captured
from strangler.shadow.redact import slug

_WHOLE = {"status", "body", "$", "response"}


def file_name(key: str) -> str:
    """`POST /{id}/delete` -> `scaffold_post_id_delete.yaml`."""
    return "scaffold_" + slug(key).replace("-", "_") + ".yaml"


def corpus_text(key: str, captured: Captured) -> str:
    """The YAML corpus file of endpoint `key`: its cases, and what to ignore in them."""
    volatile = sorted(captured.volatile.get(key, ()))
    ignore = [w for w in volatile if w.startswith("$") and w != "$"]
    headers = sorted({w.partition(":")[2] for w in volatile if w.startswith("header:")})
    whole = [w for w in volatile if w in _WHOLE]
    document: dict[str, Any] = {"endpoint": key}
    compare: dict[str, Any] = {}
    if ignore:
        compare["ignore"] = ignore
    if headers:
        compare["ignore_headers"] = headers
    if compare:
        document["compare"] = compare
    cases = []
    names: set[str] = set()
    for case in captured.cases.get(key, []):
        item = _case(case, names)
        if whole:
            item["description"] = (
                f"legacy answered it differently twice ({', '.join(whole)}): stateful?"
                " give the corpus a contract_reset hook"
            )
        cases.append(item)
    document["cases"] = cases
    header = (
        f"# {key}: the requests `strangler scaffold` played on legacy to draft its port.\n"
        "# Run legacy against the port with `strangler contract run`.\n"
    )
    return header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def _case(case: Case, names: set[str]) -> dict[str, Any]:
    name, n = f"scaffold-{case.name}", 2
    while name in names:
        name, n = f"scaffold-{case.name}-{n}", n + 1
    names.add(name)
    steps = [_step(step) for step in case.steps]
    out: dict[str, Any] = {"name": name}
    if case.description:
        out["description"] = case.description
    if case.stateful:
        out["stateful"] = True
    if case.mixed:
        out["mixed"] = case.mixed
    if len(steps) == 1 and not steps[0].get("name") and "compare" not in steps[0]:
        return {**out, **steps[0]}
    return {**out, "steps": steps}


def _step(step: Step) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if step.name:
        out["name"] = step.name
    out.update(_request(step.request))
    if step.capture:
        out["capture"] = dict(step.capture)
    if step.repeat != 1:
        out["repeat"] = step.repeat
    if step.backend is not None:
        out["backend"] = step.backend.value
    if step.compare is not None:
        out["compare"] = step.compare
    return out


def _request(request: Request) -> dict[str, Any]:
    out: dict[str, Any] = {"method": request.method, "path": request.path}
    if request.query:
        out["query"] = dict(request.query)
    if request.headers:
        out["headers"] = dict(request.headers)
    if request.json is not MISSING:
        out["json"] = request.json
    if request.form is not None:
        out["form"] = dict(request.form)
    if request.body is not None:
        out["body"] = request.body if isinstance(request.body, str) else request.body.decode()
    return out


def files(keys: Iterable[str], captured: Captured) -> dict[str, str]:
    """Corpus files (name -> YAML) of every endpoint in `keys` that has cases."""
    return {file_name(k): corpus_text(k, captured) for k in keys if captured.cases.get(k)}
