"""An OpenAPI schema as the plain JSON Schema (draft 7) that hypothesis-jsonschema reads.

    OpenAPI 3.1 / 3.0 schema ─► $refs inlined (a recursive one cut after a few levels)
                             ─► 2020-12 and OpenAPI keywords said in draft 7
                             ─► annotations dropped, examples kept as values to try

hypothesis-jsonschema supports drafts 4, 6 and 7 with local `$ref`s only, and no recursion, so
the document's `#/components/...` references are inlined here; `prefixItems`, `nullable`, a
boolean `exclusiveMinimum` and the like are translated; `xml`, `x-...` and other annotations
are dropped (a `discriminator` turns its `oneOf` into `anyOf`). Two choices narrow the values
to a part of the valid ones, never past them: an object carries its declared properties alone
(where that is safe, see `_closable`), and a recursive reference stops a few levels down.
Whatever cannot be said exactly is reported in `notes`. `values` then asks hypothesis-jsonschema
for the strategy, and says when it cannot give one.
"""

from __future__ import annotations

import dataclasses
import functools
import random
import re
import urllib.parse
from collections.abc import Mapping
from importlib.metadata import version
from typing import Any, Final

from hypothesis import HealthCheck, Phase, Verbosity, find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample, Unsatisfiable
from hypothesis_jsonschema import from_schema

# How many times one `$ref` may be open inside itself: deeper, the reference becomes `false`,
# so an optional recursive field stops there (a tree three levels deep) and values stay valid.
RECURSION_DEPTH: Final = 3

# Draft 7's assertion keywords whose value is not a schema: kept as they are.
PLAIN: Final = frozenset(
    (
        "type",
        "enum",
        "const",
        "multipleOf",
        "maximum",
        "minimum",
        "maxLength",
        "minLength",
        "format",
        "maxItems",
        "minItems",
        "uniqueItems",
        "maxProperties",
        "minProperties",
        "required",
    )
)
ONE_SCHEMA: Final = frozenset(("additionalItems", "additionalProperties", "propertyNames"))
# Read together with a neighbour (`items` with `prefixItems`...), below the keyword loop.
PAIRED: Final = frozenset(
    ("items", "prefixItems", "dependencies", "dependentSchemas", "dependentRequired")
)
# Keywords about an object's keys: a branch merged with a node that has them stays open.
OBJECT: Final = frozenset(
    (
        "properties",
        "patternProperties",
        "additionalProperties",
        "required",
        "propertyNames",
        "minProperties",
        "maxProperties",
        "dependencies",
        "dependentRequired",
        "dependentSchemas",
    )
)
# A node holding one of these is merged with other schemas: its own object stays open.
COMBINED: Final = frozenset(
    ("allOf", "anyOf", "oneOf", "if", "then", "else", "dependencies", "dependentSchemas")
)
# Said nothing about validity (or only to tools): dropped without a word.
ANNOTATIONS: Final = frozenset(
    (
        "title",
        "description",
        "default",
        "examples",
        "example",
        "deprecated",
        "readOnly",
        "writeOnly",
        "discriminator",
        "xml",
        "externalDocs",
        "$schema",
        "$id",
        "$comment",
        "$anchor",
        "$defs",
        "definitions",
        "contentMediaType",
        "contentEncoding",
        "contentSchema",
        "nullable",
    )
)
# Formats pydantic writes (and validates) that hypothesis-jsonschema does not generate itself;
# it checks each value against jsonschema's format checker.
FORMATS: Final = {"uuid": st.uuids().map(str)}
# hypothesis-jsonschema builds its strategy at once but raises its errors at the first draw:
# a few draws, from a fixed seed, tell now (and alike on every run) whether a schema works.
_PROBE: Final = settings(
    max_examples=10,
    database=None,
    deadline=None,
    phases=(Phase.generate,),
    suppress_health_check=list(HealthCheck),
    verbosity=Verbosity.quiet,
)


@dataclasses.dataclass(frozen=True)
class _Place:
    """Where a node sits, as far as translating it goes."""

    root: Any  # the schema being translated, for its own `#/$defs/...`
    where: str  # for the notes
    refs: tuple[str, ...] = ()  # the `$ref`s open around the node: a cycle shows here
    merged: bool = False  # its keywords combine with a neighbour's (allOf...): keep it open
    exact: bool = False  # under `not`, `oneOf` or `if`: a subset of its values is not safe

    def value(self) -> _Place:
        """The place of a property's value or an item: a schema of its own."""
        return dataclasses.replace(self, merged=False)

    def branch(self, *, merged: bool = True, exact: bool = False) -> _Place:
        """The place of a schema the node's value must also satisfy (or, if exact, avoid),
        merged with the node's other keywords (or with its fellow branches)."""
        return dataclasses.replace(self, merged=self.merged or merged, exact=self.exact or exact)


class Translation:
    """Turns the schemas of one OpenAPI document into draft-7 schemas, noting what it lost."""

    def __init__(self, document: Mapping[str, Any] | None) -> None:
        self.document: Mapping[str, Any] = document or {}
        self.notes: list[str] = []

    def __call__(self, schema: Any, where: str) -> Any:
        """`schema` (found at `where`, for the notes) with every `$ref` inlined, as draft 7."""
        return self._schema(schema, _Place(schema if isinstance(schema, dict) else {}, where))

    def _note(self, at: _Place, text: str) -> None:
        note = f"{at.where}: {text}"
        if note not in self.notes:
            self.notes.append(note)

    def _regex(self, pattern: Any, at: _Place) -> bool:
        """Whether Python reads `pattern` (hypothesis-jsonschema would warn, then give up)."""
        try:
            re.compile(pattern)
        except (re.error, TypeError):
            self._note(at, f"pattern {pattern!r} is not a Python regex; left out")
            return False
        return True

    def _schema(self, node: Any, at: _Place) -> Any:
        if isinstance(node, bool):
            return node
        if not isinstance(node, dict):
            self._note(at, f"{node!r} is not a schema; any value will do there")
            return True
        if "$ref" in node:
            return self._ref(node, at)
        if node.get("nullable") is True:  # OpenAPI 3.0's way to say "or null"
            rest = {k: v for k, v in node.items() if k != "nullable"}
            return {"anyOf": [self._schema(rest, at), {"type": "null"}]}
        # Its own properties meet its branches': none of them is the last word on the keys.
        open_object = at.merged or at.exact or bool(COMBINED & node.keys())
        # A branch of anyOf meets the node's other keywords alone: closed, unless they too
        # speak of the object's keys.
        alone = not (OBJECT & node.keys())
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in PLAIN:
                out[key] = value
            elif key in ONE_SCHEMA:
                out[key] = self._schema(value, at.value())
            elif key in ("allOf", "anyOf", "oneOf") and isinstance(value, list):
                # A discriminator's tag tells its branches apart: "one of" is then "any of",
                # which hypothesis-jsonschema draws without checking each value against all.
                key = "anyOf" if key == "oneOf" and "discriminator" in node else key
                place = at.branch(merged=key == "allOf" or not alone, exact=key == "oneOf")
                out[key] = [self._schema(v, place) for v in value]
            elif key in ("not", "if", "then", "else"):
                out[key] = self._schema(value, at.branch(exact=True))
            elif key == "contains":  # merged with `items` for the item it asks for
                out[key] = self._schema(value, at.branch())
            elif key == "properties" and isinstance(value, dict):
                out[key] = {k: self._schema(v, at.value()) for k, v in value.items()}
            elif key == "patternProperties" and isinstance(value, dict):
                out[key] = {
                    k: self._schema(v, at.value()) for k, v in value.items() if self._regex(k, at)
                }
            elif key == "pattern":
                out.update({key: value} if self._regex(value, at) else {})
            elif key in ("exclusiveMinimum", "exclusiveMaximum"):
                out.update(_exclusive(key, value, node))
            elif key not in PAIRED and key not in ANNOTATIONS and not key.startswith("x-"):
                self._note(at, f"keyword {key!r} is not understood and left out")
        out.update(self._arrays(node, at))
        out.update(self._dependencies(node, at))
        if not open_object and _closable(out):
            out["additionalProperties"] = False
        return _with_examples(out, node)

    def _ref(self, node: dict[str, Any], at: _Place) -> Any:
        ref = str(node["$ref"])
        if at.refs.count(ref) >= RECURSION_DEPTH:
            self._note(
                at,
                f"{ref} refers to itself; generated values nest it at most"
                f" {RECURSION_DEPTH} levels deep",
            )
            return False
        base = at.root if ref.startswith("#/$defs/") and "$defs" in at.root else self.document
        target = pointer(base, ref)
        if target is None:
            self._note(at, f"{ref} is not in the document; any value will do there")
            return True
        # OpenAPI 3.1 allows keywords beside a `$ref`: mostly a description, now and then more.
        siblings = self._schema({k: v for k, v in node.items() if k != "$ref"}, at.branch())
        inside = dataclasses.replace(at, refs=(*at.refs, ref))
        if not siblings:
            return self._schema(target, inside)
        return {"allOf": [self._schema(target, inside.branch()), siblings]}

    def _arrays(self, node: dict[str, Any], at: _Place) -> dict[str, Any]:
        """2020-12's `prefixItems` + `items` are draft 7's `items` list + `additionalItems`."""
        out: dict[str, Any] = {}
        items = node.get("items")
        prefix = node.get("prefixItems")
        if isinstance(prefix, list):
            out["items"] = [self._schema(s, at.value()) for s in prefix]
            if items is not None:
                out["additionalItems"] = self._schema(items, at.value())
        elif isinstance(items, list):  # draft 4-7's tuple form
            out["items"] = [self._schema(s, at.value()) for s in items]
        elif items is not None:
            out["items"] = self._schema(items, at.value())
        return out

    def _dependencies(self, node: dict[str, Any], at: _Place) -> dict[str, Any]:
        """2019-09's `dependentRequired` and `dependentSchemas` are draft 7's `dependencies`."""
        merged: dict[str, Any] = {}
        for key in ("dependencies", "dependentSchemas", "dependentRequired"):
            for name, value in (node.get(key) or {}).items():
                is_names = isinstance(value, list)
                merged[name] = value if is_names else self._schema(value, at.branch(exact=True))
        return {"dependencies": merged} if merged else {}


def _closable(schema: dict[str, Any]) -> bool:
    """Whether an object may carry its declared properties alone: hypothesis-jsonschema would
    otherwise add a few random ones to every object (slowly, its merges are costly), which
    says nothing of the app; the mutation layer adds strangers anyway. Only where a subset of
    the valid values stays valid: not in a schema another one is merged with (allOf, a
    $ref's siblings), nor under `not`, `oneOf` or `if`."""
    return (
        "properties" in schema
        and "additionalProperties" not in schema
        and "patternProperties" not in schema
        and schema.get("minProperties", 0) <= len(schema["properties"])
    )


def values(schema: Any) -> tuple[st.SearchStrategy[Any], str | None]:
    """hypothesis-jsonschema's strategy for a draft-7 `schema`, and why it cannot draw from it
    (None when it can)."""
    strategy = from_schema(schema, custom_formats=FORMATS)
    return strategy, _unusable() or _cannot_draw(strategy)


@functools.cache
def _unusable() -> str | None:
    """Why hypothesis-jsonschema cannot work with the installed Hypothesis, if it cannot.

    It drives Hypothesis's internals to build objects, and a Hypothesis newer than it knows
    may have changed them (6.170.10 did): then every schema would fail alike, so say it once,
    with the fix."""
    problem = _cannot_draw(from_schema({"properties": {"a": {}}, "required": ["a"]}))
    if problem is None:
        return None
    return (
        f"hypothesis-jsonschema {version('hypothesis-jsonschema')} does not work with"
        f" Hypothesis {version('hypothesis')} ({problem});"
        " install the versions `pip install 'strangler[contracts]'` chooses"
    )


def _cannot_draw(strategy: st.SearchStrategy[Any]) -> str | None:
    drawn = 0

    def count(_: Any) -> bool:
        nonlocal drawn
        drawn += 1
        return False

    try:
        find(strategy, count, settings=_PROBE, random=random.Random(0))
    except NoSuchExample:
        pass  # every draw worked, and none was what `count` looks for: it looks for none
    except Unsatisfiable:
        return "no value satisfies it"
    except Exception as exc:  # whatever hypothesis-jsonschema raised: the run goes on
        text = str(exc).splitlines()[0] if str(exc) else ""
        text = text if len(text) <= 200 else text[:200] + "..."
        return f"hypothesis-jsonschema cannot read it ({type(exc).__name__}: {text})"
    return None if drawn else "no value satisfies it"


def _exclusive(key: str, value: Any, node: Mapping[str, Any]) -> dict[str, Any]:
    """A draft-4 / OpenAPI 3.0 boolean `exclusiveMinimum` as draft 7's number."""
    if not isinstance(value, bool):
        return {key: value}
    bound = "minimum" if key == "exclusiveMinimum" else "maximum"
    if value and isinstance(node.get(bound), int | float):
        return {key: node[bound]}  # stricter than the plain bound also kept: same values
    return {}


def _with_examples(schema: dict[str, Any], node: Mapping[str, Any]) -> dict[str, Any]:
    """Half the time one of the node's examples, those the schema accepts: values a person
    chose reach further into the app than random ones (hypothesis-jsonschema filters an enum
    by the schema it is merged with, so an invalid example is never sent as a valid one)."""
    examples = node.get("examples")
    if not isinstance(examples, list):
        examples = [node["example"]] if "example" in node else []
    if not examples:
        return schema
    return {"anyOf": [{"allOf": [schema, {"enum": examples}]}, schema]}


def pointer(document: Any, ref: str) -> Any:
    """The part of `document` a local reference (`#/components/schemas/Item`) names, or None."""
    if not ref.startswith("#"):
        return None  # another document: hypothesis-jsonschema would not fetch it either
    target = document
    for part in urllib.parse.unquote(ref[1:]).split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(target, dict) and part in target:
            target = target[part]
        elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
            target = target[int(part)]
        else:
            return None
    return target
