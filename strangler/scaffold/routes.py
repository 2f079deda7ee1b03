"""The legacy endpoints to draft, read from the Flask app's url_map: path, method, parameters.

Each converter becomes the FastAPI path it matches and the Python type of its parameter:

    Flask rule                      FastAPI path                 parameter
    /post/<int:id>                  /post/{id:int}               id: int
    /price/<float:x>                /price/{x:float}             x: float
    /files/<path:name>              /files/{name:path}           name: str
    /users/<uuid:key>               /users/{key:uuid}            key: uuid.UUID
    /tags/<tag>, <string:tag>       /tags/{tag}                  tag: str
    /<any(a, b):kind>               /{kind}                      kind: Literal["a", "b"]

The path convertor keeps a path the converter refuses a router 404, as in Flask (a typed
parameter alone would make it FastAPI's 422). Where Starlette's convertor matches more than
Flask's (`float` without a dot, `uuid` without dashes), the draft says so in a comment.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator
from typing import Any

from strangler.routing.inventory import IMPLICIT_METHODS, unwrapped
from strangler.routing.templates import (
    normalise_template,
    parse_route_key,
    route_key,
    template_shape,
)

_PARAM = re.compile(r"<(?:(?P<conv>[a-zA-Z_]\w*)(?:\((?P<args>[^)]*)\))?:)?(?P<name>\w+)>")
_TYPES = {"int": "int", "float": "float", "path": "str", "uuid": "uuid.UUID"}
_LOOSER = {
    "float": "Starlette's float convertor also matches `1` (Flask's needs `1.0`): a 404 there",
    "uuid": "Starlette's uuid convertor also matches one without dashes (Flask's needs them)",
}


@dataclasses.dataclass(frozen=True)
class Param:
    name: str
    converter: str  # Flask's: default, string, int, float, path, uuid, any...
    python: str  # the parameter's type in the draft
    note: str = ""  # where Starlette's convertor differs from Flask's


@dataclasses.dataclass(frozen=True)
class Route:
    """One legacy endpoint: a method of one url_map rule."""

    method: str
    rule: str  # as Flask writes it: /post/<int:id>
    view: str  # the Flask endpoint name: blog.update
    path: str  # as FastAPI writes it: /post/{id:int}
    params: tuple[Param, ...]
    doc: str = ""  # the first line of the view's docstring

    @property
    def key(self) -> str:
        """The route key (`POST /{id}/delete`), as flags and corpus files name the endpoint."""
        return route_key(self.method, normalise_template(self.rule))


def legacy_routes(app: Any) -> list[Route]:
    """Every endpoint the Flask app declares (HEAD and OPTIONS are Flask's own: not drafted),
    sorted by path then method; none for a WSGI app without a url_map."""
    flask = unwrapped(app)
    url_map = getattr(flask, "url_map", None)
    if url_map is None:
        return []
    found: dict[str, Route] = {}
    for rule in url_map.iter_rules():
        view = getattr(flask, "view_functions", {}).get(rule.endpoint)
        doc = ((getattr(view, "__doc__", None) or "").strip().splitlines() or [""])[0]
        params = tuple(_param(m) for m in _PARAM.finditer(rule.rule))
        path = _PARAM.sub(lambda m: _placeholder(m), rule.rule)
        for method in sorted(rule.methods or ()):
            route = Route(method, rule.rule, rule.endpoint, path, params, doc)
            # The first rule of a path serves it (flaskr's `/` is both `index` and `blog.index`).
            if method not in IMPLICIT_METHODS and route.key not in found:
                found[route.key] = route
    return sorted(found.values(), key=lambda r: (r.rule, r.method))


def select(routes: Iterable[Route], wanted: Iterable[str]) -> Iterator[Route]:
    """The routes `wanted` names: route keys (`GET /post/{id}`, any template syntax), a bare
    path (every method of it), or `all`. A malformed key raises ValueError."""
    wanted = list(wanted)
    if "all" in wanted:
        yield from routes
        return
    # By shape, parameter names erased: `GET /post/{id}` names `/post/<int:post_id>` too.
    keys = {parse_route_key(w) for w in wanted if " " in w.strip()}
    keys = {(method, template_shape(template)) for method, template in keys}
    paths = {template_shape(w.strip()) for w in wanted if " " not in w.strip()}
    for route in routes:
        shape = template_shape(route.rule)
        if (route.method, shape) in keys or shape in paths:
            yield route


def _param(found: re.Match[str]) -> Param:
    converter = found["conv"] or "default"
    python = _TYPES.get(converter, "str")
    if converter == "any" and found["args"]:
        choices = [c.strip().strip("'\"") for c in found["args"].split(",") if c.strip()]
        python = "Literal[" + ", ".join(repr(c) for c in choices) + "]"
    return Param(found["name"], converter, python, _LOOSER.get(converter, ""))


def _placeholder(found: re.Match[str]) -> str:
    converter = found["conv"] or "default"
    if converter in _TYPES:
        return "{" + found["name"] + ":" + converter + "}"
    return "{" + found["name"] + "}"
