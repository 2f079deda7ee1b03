"""OpenAPI schemas made plain draft 7 for hypothesis-jsonschema: refs, keywords, notes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import strategies as st

from strangler.contracts import schemas
from strangler.contracts.schemas import Translation

DOCUMENT = {
    "components": {
        "schemas": {
            "Pet": {
                "type": "object",
                "properties": {"name": {"type": "string", "title": "Name"}},
                "required": ["name"],
            },
        }
    }
}


def plain(schema: Any) -> tuple[Any, list[str]]:
    """`schema` translated against DOCUMENT, and the notes the translation took."""
    translate = Translation(DOCUMENT)
    return translate(schema, "the body"), translate.notes


@pytest.mark.parametrize(
    ("openapi", "draft7"),
    [
        pytest.param(
            {"type": "string", "nullable": True},
            {"anyOf": [{"type": "string"}, {"type": "null"}]},
            id="nullable",
        ),
        pytest.param(
            {"type": "integer", "minimum": 0, "exclusiveMinimum": True},
            {"type": "integer", "minimum": 0, "exclusiveMinimum": 0},
            id="boolean-exclusive-minimum",
        ),
        pytest.param(
            {"type": "array", "prefixItems": [{"type": "integer"}], "items": {"type": "string"}},
            {
                "type": "array",
                "items": [{"type": "integer"}],
                "additionalItems": {"type": "string"},
            },
            id="prefix-items",
        ),
        pytest.param(
            {"dependentRequired": {"a": ["b"]}},
            {"dependencies": {"a": ["b"]}},
            id="dependent-required",
        ),
        pytest.param(
            {"type": "string", "title": "T", "x-internal": 1, "deprecated": True},
            {"type": "string"},
            id="annotations-dropped",
        ),
        pytest.param(
            {"$ref": "#/components/schemas/Pet", "description": "the pet"},
            {
                "type": "object",
                "properties": {"name": {"type": "string"}},
                "required": ["name"],
                "additionalProperties": False,
            },
            id="ref-inlined-and-closed",
        ),
        pytest.param(
            {"allOf": [{"$ref": "#/components/schemas/Pet"}, {"properties": {"age": {}}}]},
            {
                "allOf": [
                    {
                        "type": "object",
                        "properties": {"name": {"type": "string"}},
                        "required": ["name"],
                    },
                    {"properties": {"age": {}}},
                ]
            },
            id="all-of-branches-stay-open",
        ),
        pytest.param(
            {"type": "integer", "examples": [3]},
            {"anyOf": [{"allOf": [{"type": "integer"}, {"enum": [3]}]}, {"type": "integer"}]},
            id="examples-as-values-to-try",
        ),
    ],
)
def test_openapi_keywords_are_said_in_draft_7(openapi: Any, draft7: Any) -> None:
    """Each OpenAPI or 2020-12 spelling becomes its draft-7 equivalent, silently."""
    assert plain(openapi) == (draft7, [])


def test_a_discriminated_one_of_is_drawn_as_any_of_with_closed_branches() -> None:
    """A discriminator's tags keep the branches apart: anyOf, each object closed; a plain
    oneOf keeps its branches open, where a subset of values could match two of them."""
    branches = [{"properties": {"kind": {"const": k}}, "required": ["kind"]} for k in "ab"]
    tagged, _ = plain({"oneOf": branches, "discriminator": {"propertyName": "kind"}})
    assert [b["additionalProperties"] for b in tagged["anyOf"]] == [False, False]
    untagged, _ = plain({"oneOf": branches})
    assert all("additionalProperties" not in b for b in untagged["oneOf"])


@pytest.mark.parametrize(
    ("openapi", "draft7", "note"),
    [
        pytest.param(
            {"type": "string", "pattern": "(?<x>a)"},
            {"type": "string"},
            "pattern '(?<x>a)' is not a Python regex; left out",
            id="javascript-regex",
        ),
        pytest.param(
            {"type": "object", "unevaluatedProperties": False},
            {"type": "object"},
            "keyword 'unevaluatedProperties' is not understood and left out",
            id="unknown-keyword",
        ),
        pytest.param(
            {"$ref": "#/components/schemas/Gone"},
            True,
            "#/components/schemas/Gone is not in the document; any value will do there",
            id="missing-ref",
        ),
    ],
)
def test_what_cannot_be_said_is_left_out_with_a_note(openapi: Any, draft7: Any, note: str) -> None:
    """A keyword or reference the translation cannot carry is dropped, and a note names it."""
    assert plain(openapi) == (draft7, [f"the body: {note}"])


def test_a_recursive_reference_becomes_false_a_few_levels_down() -> None:
    """A schema that refers to itself is inlined three levels deep, then refused (`false`)."""
    tree = {"$ref": "#/$defs/T", "$defs": {"T": {"items": {"$ref": "#/$defs/T"}}}}
    schema, notes = plain(tree)
    assert schema == {"items": {"items": {"items": False}}}
    assert notes == [
        "the body: #/$defs/T refers to itself; generated values nest it at most 3 levels deep"
    ]


def test_a_hypothesis_that_hypothesis_jsonschema_cannot_drive_is_named_with_the_fix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When hypothesis-jsonschema fails on a plain object (as it does on Hypothesis 6.170.10
    and later), every schema says so, with the versions and what to install."""

    def broken(*args: Any, **kwargs: Any) -> st.SearchStrategy[Any]:
        def fail() -> None:
            raise AttributeError("'many' object has no attribute 'more'")

        return st.builds(fail)

    monkeypatch.setattr(schemas, "from_schema", broken)
    schemas._unusable.cache_clear()
    try:
        _, problem = schemas.values({"type": "integer"})
    finally:
        schemas._unusable.cache_clear()
    assert problem is not None
    assert problem.startswith("hypothesis-jsonschema ")
    assert " does not work with Hypothesis " in problem
    assert "AttributeError: 'many' object has no attribute 'more'" in problem
    assert problem.endswith("install the versions `pip install 'strangler[contracts]'` chooses")
