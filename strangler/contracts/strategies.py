"""Hypothesis strategies for requests to one endpoint: its OpenAPI schema, then mutations.

    request ─ body:    a valid value from the schema (or one of its examples), drawn by
            │          hypothesis-jsonschema from the schema made plain by `schemas`
            │          a mutation of one: a field missing or extra, a value replaced by a nasty
            │          one (NaN, infinities, huge numbers, unicode, wrong types), a list resized
            │          to a boundary (0, the schema's min/max and one past them)
            │          any JSON value; raw bytes (empty, malformed, not UTF-8); a form
            ├ Content-Type: the JSON one mostly, else charset, upper case, text/plain, none, form
            ├ headers: the file's defaults, sometimes one dropped or garbled
            └ path parameters and query strings: from the schema, plus junk

A schema hypothesis-jsonschema cannot use means "any JSON value" there, with a note saying why.
"""

from __future__ import annotations

import math
import urllib.parse
from collections.abc import Mapping
from typing import Any, Final

from hypothesis import strategies as st

from strangler.comparison.cases import MISSING, Request
from strangler.contracts.schemas import Translation, pointer, values
from strangler.routing.templates import fill_template, parse_route_key, template_params

NASTY: Final[tuple[Any, ...]] = (
    math.nan,
    math.inf,
    -math.inf,
    -0.0,
    1e308,
    -1e308,
    5e-324,
    3.4028235e38,  # float32 max
    3.5e38,
    2**31,
    2**53 + 1,
    2**63,
    -(2**63) - 1,
    10**40,
    10**400,
    "",
    "0",
    "1.5",
    "NaN",
    "é",
    "😀",
    "\x00",
    "x" * 5000,
    None,
    True,
    False,
    [],
    {},
)
CONTENT_TYPES: Final = (
    "application/json; charset=utf-8",
    "APPLICATION/JSON",
    "application/vnd.api+json",
    "text/plain",
    "text/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    None,
)
# Nested far deeper than a JSON parser recurses (a 500 in werkzeug): both must fail alike.
DEEP: Final = b"[" * 100_000 + b"]" * 100_000
RAW_BODIES: Final = (
    b"",
    b"{",
    b"{bad",
    b'{"a":}',
    b"[1,2,]",
    b"\xff\xfe\x00",
    b"\xef\xbb\xbf{}",
    DEEP,
    b'{"a":' + DEEP + b"}",
)
_MAX_SIZE = 1000  # the largest list a boundary mutation builds

leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),  # NaN and infinities included
    st.text(max_size=20),
    st.sampled_from(NASTY),
)
any_json = st.recursive(
    leaves,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=12,
)


class Schema:
    """An OpenAPI document's schemas as strategies for valid values, by hypothesis-jsonschema.

    A schema it cannot read (a reference cycle with no way out, no value at all, a keyword it
    rejects) gives any JSON value instead, and says why in `notes`: the run goes on.
    """

    def __init__(self, document: Mapping[str, Any] | None) -> None:
        self.document: Mapping[str, Any] = document or {}
        self.translate = Translation(self.document)

    @property
    def notes(self) -> list[str]:
        """What the generated values could not follow, one line per schema and reason."""
        return self.translate.notes

    def resolve(self, schema: Any) -> dict[str, Any]:
        """The object a `$ref` points at (`#/components/requestBodies/...`), else itself."""
        for _ in range(20):  # refs to refs, bounded
            if not isinstance(schema, dict) or "$ref" not in schema:
                break
            schema = pointer(self.document, str(schema["$ref"]))
        return schema if isinstance(schema, dict) else {}

    def json_schema(self, schema: Any, where: str) -> Any:
        """`schema` as the self-contained draft-7 schema hypothesis-jsonschema reads."""
        return self.translate(schema, where)

    def valid(self, schema: Any, where: str = "a schema") -> st.SearchStrategy[Any]:
        """Values that satisfy `schema` (found at `where`, which the notes name)."""
        strategy, problem = values(self.json_schema(schema, where))
        if problem is None:
            return strategy
        self.translate.notes.append(f"{where}: {problem}; generating any JSON value instead")
        return any_json


def boundaries(schema: Any) -> list[int]:
    """Every size a schema names (minItems, maxItems...) and one either side of it."""
    found: set[int] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("minItems", "maxItems", "minLength", "maxLength", "minProperties"):
                if isinstance(node.get(key), int):
                    found.update({node[key] - 1, node[key], node[key] + 1})
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return sorted(n for n in found | {0, 1} if 0 <= n <= _MAX_SIZE)


def _locations(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every location in a JSON value, the root first."""
    found = [here]
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_locations(item, (*here, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_locations(item, (*here, index)))
    return found


def _get(value: Any, location: tuple[Any, ...]) -> Any:
    for part in location:
        value = value[part]
    return value


def _replace(value: Any, location: tuple[Any, ...], new: Any) -> Any:
    if not location:
        return new
    head, rest = location[0], location[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replace(copy[head], rest, new)
    return copy


@st.composite
def mutation(draw: st.DrawFn, valid: st.SearchStrategy[Any], sizes: list[int]) -> Any:
    """A valid value with one thing broken: a key dropped or added, a value swapped, a resize."""
    value = draw(valid)
    locations = _locations(value)
    dicts = [loc for loc in locations if isinstance(_get(value, loc), dict)]
    lists = [loc for loc in locations if isinstance(_get(value, loc), list)]
    kinds = ["replace"] + (["drop", "extra"] if dicts else []) + (["resize"] if lists else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "replace":
        where = draw(st.sampled_from(locations))
        return _replace(value, where, draw(st.sampled_from(NASTY) | any_json))
    if kind == "resize":
        where = draw(st.sampled_from(lists))
        items = _get(value, where) or [draw(leaves)]
        size = draw(st.sampled_from(sizes))
        return _replace(value, where, (items * (size // len(items) + 1))[:size])
    where = draw(st.sampled_from(dicts))
    target = dict(_get(value, where))
    if kind == "drop" and target:
        del target[draw(st.sampled_from(sorted(target)))]
    else:
        target[draw(st.text(max_size=10))] = draw(any_json)
    return _replace(value, where, target)


def requests(
    endpoint: str, operation: Mapping[str, Any] | None, base: Request, schema: Schema
) -> st.SearchStrategy[Request]:
    """Requests to `endpoint` ('METHOD /template'), starting from the file's default request."""
    method, template = parse_route_key(endpoint)
    operation = operation or {}
    body_schema = _json_body_schema(operation, schema)
    valid, sizes = any_json, [0, 1, 2]
    if body_schema is not None:
        valid = schema.valid(body_schema, "the JSON body")
        sizes = boundaries(schema.json_schema(body_schema, "the JSON body"))  # $refs inlined
    json_values = st.one_of(valid, mutation(valid, sizes), any_json)
    if body_schema is not None or method in ("POST", "PUT", "PATCH"):
        bodies = st.one_of(
            json_values.map(lambda v: ("json", v)),
            json_values.map(lambda v: ("json", v)),
            st.one_of(st.sampled_from(RAW_BODIES), st.binary(max_size=32)).map(
                lambda b: ("raw", b)
            ),
            st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3).map(
                lambda f: ("form", f)
            ),
        )
    else:
        bodies = st.one_of(
            st.just(("none", None)), st.just(("none", None)), json_values.map(lambda v: ("json", v))
        )
    return st.builds(
        _request,
        st.just(method),
        _path(template, operation, schema),
        st.just(base),
        _query(operation, schema),
        bodies,
        st.one_of(st.just("default"), st.sampled_from(CONTENT_TYPES)),
        _header_change(base),
    )


def _json_body_schema(operation: Mapping[str, Any], schema: Schema) -> Any:
    content = schema.resolve(operation.get("requestBody", {})).get("content", {})
    for media, spec in content.items():
        if "json" in media:
            return spec.get("schema", {})
    return None


def _path(template: str, operation: Mapping[str, Any], schema: Schema) -> st.SearchStrategy[str]:
    names = template_params(template)
    if not names:
        return st.just(template)
    params = {p.get("name"): p for p in operation.get("parameters", []) if p.get("in") == "path"}
    parts = {}
    for name in names:
        declared = params.get(name, {}).get("schema", {"type": "string"})
        valid = schema.valid(declared, f"path parameter {name!r}")
        parts[name] = st.one_of(valid, st.sampled_from(NASTY[:20])).map(
            lambda v: urllib.parse.quote(str(v), safe="")[:200] or "x"
        )
    return st.fixed_dictionaries(parts).map(lambda values: fill_template(template, values))


def _query(operation: Mapping[str, Any], schema: Schema) -> st.SearchStrategy[dict[str, str]]:
    declared = {
        p["name"]: schema.valid(p.get("schema", {}), f"query parameter {p['name']!r}").map(str)
        for p in operation.get("parameters", [])
        if p.get("in") == "query" and "name" in p
    }
    junk = st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=8), max_size=2)
    nothing: dict[str, str] = {}
    sometimes_junk = st.one_of(st.just(nothing), st.just(nothing), st.just(nothing), junk)
    return st.builds(
        lambda a, b: {**b, **a}, st.fixed_dictionaries({}, optional=declared), sometimes_junk
    )


HeaderChange = tuple[str, str | list[str] | None]


def _header_change(base: Request) -> st.SearchStrategy[HeaderChange | None]:
    """Now and then one of the file's headers dropped, garbled or repeated (two fields of one
    name: a WSGI server joins them, an ASGI app may read the first alone)."""
    names = sorted(k for k, v in base.headers.items() if isinstance(v, str))
    garbled = st.sampled_from([None, "", "x", "Bearer", "Bearer x.y.z", "Basic YQ=="])
    repeated = st.sampled_from(["Content-Type", *names]).map(
        lambda name: (name, [str(base.headers.get(name) or "application/json")] * 2)
    )
    changes: list[st.SearchStrategy[HeaderChange | None]] = [st.none(), st.none(), repeated]
    plain = [n for n in names if n.lower() != "content-type"]
    if plain:
        changes.append(st.tuples(st.sampled_from(plain), garbled))
    return st.one_of(changes)


def _request(
    method: str,
    path: str,
    base: Request,
    query: dict[str, str],
    body: tuple[str, Any],
    content_type: str | None,
    header_change: HeaderChange | None,
) -> Request:
    headers = dict(base.headers)
    kind, value = body
    if content_type != "default":  # replaces the file's Content-Type, whatever its spelling
        headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        headers["Content-Type"] = content_type
    elif kind in ("raw", "form"):  # the file's (or the body's natural) type
        natural = "application/json" if kind == "raw" else "application/x-www-form-urlencoded"
        if not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = natural
    if header_change is not None:
        name, changed = header_change
        headers = {k: v for k, v in headers.items() if k.lower() != name.lower()}
        headers[name] = changed
    return Request(
        method=method,
        path=path,
        headers=headers,
        query=query,
        json=value if kind == "json" else MISSING,
        form=value if kind == "form" else None,
        body=value if kind == "raw" else None,
    )
