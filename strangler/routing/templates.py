"""Route templates and route keys: the one parser of both frameworks' path syntax.

One template syntax serves both frameworks: Flask's `/items/<int:item_id>` and FastAPI's
`/items/{item_id}` are both written `/items/{item_id}` (and `<path:p>` / `{p:path}` as `{p:path}`).
An endpoint is keyed `METHOD /template`; two templates that differ only in parameter names are the
same endpoint, because they match the same requests. The inventory, the corpus, the ledger and the
fuzzer all read templates through this module.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_FLASK_PARAM = re.compile(r"<(?:(?P<conv>[a-zA-Z_]\w*)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_BRACE_PARAM = re.compile(r"{(?P<name>\w+)(?::(?P<conv>\w+))?}")


def normalise_template(template: str) -> str:
    """Rewrites a Flask or FastAPI route template into the gateway's one syntax."""

    # Both patterns name their groups `name` and `conv`, so one rewrite serves both syntaxes.
    def param(m: re.Match[str]) -> str:
        return f"{{{m['name']}:path}}" if m["conv"] == "path" else f"{{{m['name']}}}"

    return _BRACE_PARAM.sub(param, _FLASK_PARAM.sub(param, template))


def template_shape(template: str) -> str:
    """The template with parameter names erased: equal shapes match the same requests."""
    return _BRACE_PARAM.sub(
        lambda m: "{:path}" if m["conv"] == "path" else "{}", normalise_template(template)
    )


def flask_params(rule: str) -> list[tuple[str, str]]:
    """A Flask rule's path parameters, in order, as (name, converter): `default` where the rule
    names none (`/items/<int:id>/<slug>` -> [("id", "int"), ("slug", "default")])."""
    return [(m["name"], m["conv"] or "default") for m in _FLASK_PARAM.finditer(rule)]


def template_params(template: str) -> list[str]:
    """The names of a template's path parameters, in order."""
    return [m["name"] for m in _BRACE_PARAM.finditer(normalise_template(template))]


def fill_template(template: str, values: Mapping[str, str]) -> str:
    """The path a template gives with each parameter replaced by `values[name]`."""
    return _BRACE_PARAM.sub(lambda m: values[m["name"]], normalise_template(template))


def template_regex(template: str) -> re.Pattern[str]:
    """Compiles a normalised template into a regex matching whole request paths."""
    parts: list[str] = []
    last = 0
    for m in _BRACE_PARAM.finditer(template):
        parts.append(re.escape(template[last : m.start()]))
        parts.append(".+" if m["conv"] == "path" else "[^/]+")
        last = m.end()
    parts.append(re.escape(template[last:]))
    return re.compile("".join(parts) + r"\Z")


def route_key(method: str, template: str) -> str:
    """The flag key of an endpoint: `METHOD /template`."""
    return f"{method.upper()} {template}"


def parse_route_key(key: str) -> tuple[str, str]:
    """Splits `METHOD /template` and normalises the template; raises ValueError if malformed."""
    method, _, template = key.strip().partition(" ")
    template = template.strip()
    if not method or not template.startswith("/"):
        raise ValueError(
            f"{key!r} is not a route key; write it as 'METHOD /path', e.g. 'GET /health'"
        )
    return method.upper(), normalise_template(template)


def normalise_route_key(key: str) -> str:
    """A route key in the one syntax: `post /items/<int:id>` becomes `POST /items/{id}`."""
    return route_key(*parse_route_key(key))
