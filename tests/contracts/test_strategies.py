"""Request strategies: schema-valid values by hypothesis-jsonschema, our mutations on top."""

from __future__ import annotations

import contextlib
import json
import random
from typing import Annotated, Any, Literal
from uuid import UUID

import jsonschema
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample
from pydantic import BaseModel, Field, ValidationError

from strangler.comparison.cases import Request
from strangler.contracts.fuzz import operation
from strangler.contracts.strategies import Schema, any_json, boundaries, mutation, requests


def draws(strategy: st.SearchStrategy[Any], count: int = 60, seed: int = 0) -> list[Any]:
    """The values `strategy` gives under `seed`, drawn the way the fuzzer draws them."""
    seen: list[Any] = []

    def keep(value: Any) -> bool:
        seen.append(value)
        return False

    options = settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=(Phase.generate,),
        suppress_health_check=list(HealthCheck),
    )
    with contextlib.suppress(NoSuchExample):
        find(strategy, keep, settings=options, random=random.Random(seed))
    return seen


class Line(BaseModel):
    sku: str = Field(pattern=r"^[A-Z]{3}-[0-9]{3}$", examples=["ABC-123"])
    quantity: int = Field(ge=1, le=99)
    price: float = Field(gt=0, le=1000)


class Card(BaseModel):
    kind: Literal["card"]
    number: str = Field(pattern=r"^[0-9]{12,19}$")


class Voucher(BaseModel):
    kind: Literal["voucher"]
    code: UUID


class Order(BaseModel):
    lines: list[Line] = Field(min_length=1, max_length=5)
    payment: Annotated[Card | Voucher, Field(discriminator="kind")]
    note: str | None = Field(default=None, max_length=40)
    size: tuple[int, int] | None = None


class Folder(BaseModel):
    name: str
    children: list[Folder] = []


shop = FastAPI()


@shop.post("/orders")
async def create_order(order: Order) -> dict[str, str]:
    return {}


@shop.post("/folders")
async def create_folder(folder: Folder) -> dict[str, str]:
    return {}


@shop.get("/orders/{order_id}")
async def read_order(order_id: int, verbose: bool = False) -> dict[str, str]:
    return {}


DOCUMENT = shop.openapi()


def body_schema(path: str) -> Any:
    """The JSON body's schema of POST `path` in the app's OpenAPI, its `$ref` as written."""
    return DOCUMENT["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]


def validator(schema: Any) -> jsonschema.Draft202012Validator:
    """A validator of `schema` as OpenAPI 3.1 means it, its `$ref`s read in the document."""
    return jsonschema.Draft202012Validator({**schema, "components": DOCUMENT["components"]})


def test_all_of_yields_values_satisfying_every_branch() -> None:
    """allOf's values satisfy each of its branches, not only the first."""
    first = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    second = {"properties": {"b": {"type": "string", "minLength": 2}}, "required": ["b"]}
    values = draws(Schema(None).valid({"allOf": [first, second]}))
    assert len(values) >= 30
    for value in values:
        jsonschema.validate(value, first)
        jsonschema.validate(value, second)


def test_numbers_stay_within_their_bounds() -> None:
    """A number with minimum/maximum (and an exclusive one) stays in range."""
    schema = {"type": "number", "minimum": 2.5, "maximum": 3.5, "exclusiveMaximum": 3.5}
    values = draws(Schema(None).valid(schema))
    assert len(values) >= 30
    assert all(2.5 <= v < 3.5 for v in values), values


def test_a_referenced_model_gives_bodies_its_pydantic_model_accepts() -> None:
    """A `$ref` to a FastAPI model (nested models, a discriminated union, a pattern, a uuid,
    a tuple, nullable fields) gives bodies the model and the OpenAPI schema both accept."""
    schema = Schema(DOCUMENT)
    values = draws(schema.valid(body_schema("/orders")), count=50)
    assert len(values) >= 30
    check = validator(body_schema("/orders"))
    for value in values:
        check.validate(value)
        Order.model_validate_json(json.dumps(value))
    kinds = {value["payment"]["kind"] for value in values}
    assert kinds == {"card", "voucher"}  # both branches of the union, not only the first
    assert any(line["sku"] == "ABC-123" for value in values for line in value["lines"])
    assert schema.notes == []


def test_path_and_query_parameters_follow_their_schemas() -> None:
    """Path and query parameters are drawn from their own schemas (an integer id here)."""
    found = operation(DOCUMENT, "GET /orders/{order_id}")
    strategy = requests("GET /orders/{order_id}", found, Request(), Schema(DOCUMENT))
    paths = [r.path for r in draws(strategy, count=80)]
    numeric = [p for p in paths if p.removeprefix("/orders/").lstrip("-").isdigit()]
    assert len(numeric) >= len(paths) // 3  # the rest: nasty values, on purpose


def test_the_mutation_layer_still_breaks_valid_bodies() -> None:
    """Mutations of valid bodies are often invalid: a field dropped, a value of another type,
    a list resized past its bounds."""
    schema = Schema(DOCUMENT)
    valid = schema.valid(body_schema("/orders"))
    sizes = boundaries(schema.json_schema(body_schema("/orders"), "body"))
    assert {0, 1, 5, 6} <= set(sizes)  # minItems 1, maxItems 5 seen through the $ref
    mutated = draws(mutation(valid, sizes), count=60)
    invalid = [v for v in mutated if not _accepted(v)]
    assert len(invalid) >= len(mutated) // 3, (len(invalid), len(mutated))
    assert any(isinstance(v, dict) and "lines" not in v for v in invalid)  # a field dropped
    resized = [v["lines"] for v in invalid if isinstance(v, dict) and "lines" in v]
    assert any(isinstance(lines, list) and not 1 <= len(lines) <= 5 for lines in resized)


def _accepted(value: Any) -> bool:
    try:
        Order.model_validate_json(json.dumps(value))
    except (ValidationError, ValueError):
        return False
    return True


def test_the_same_seed_gives_the_same_requests() -> None:
    """A seed fixes the requests; another seed gives others."""

    def sample(seed: int) -> list[str]:
        found = operation(DOCUMENT, "POST /orders")
        strategy = requests("POST /orders", found, Request(), Schema(DOCUMENT))
        return [repr(r) for r in draws(strategy, count=30, seed=seed)]

    first = sample(3)
    assert len(first) == 30
    assert sample(3) == first
    assert sample(4) != first


def test_a_recursive_model_nests_a_few_levels_and_says_so() -> None:
    """A model that holds itself is cut a few levels deep: valid values, and a note."""
    schema = Schema(DOCUMENT)
    values = draws(schema.valid(body_schema("/folders"), "the JSON body"))
    assert len(values) >= 30
    for value in values:
        Folder.model_validate_json(json.dumps(value))
    assert any(folder["children"] for folder in values if folder.get("children"))
    assert schema.notes == [
        "the JSON body: #/components/schemas/Folder refers to itself; generated values nest"
        " it at most 3 levels deep"
    ]


@pytest.mark.parametrize(
    ("schema", "why"),
    [
        pytest.param(
            {"type": "integer", "minimum": 5, "maximum": 1}, "no value satisfies it", id="empty"
        ),
        pytest.param(
            {
                "$ref": "#/$defs/Chain",
                "$defs": {
                    "Chain": {
                        "type": "object",
                        "required": ["next"],
                        "properties": {"next": {"$ref": "#/$defs/Chain"}},
                    }
                },
            },
            "no value satisfies it",
            id="recursion-without-an-end",
        ),
        pytest.param({"type": "wat"}, "hypothesis-jsonschema cannot read it", id="unreadable"),
    ],
)
def test_a_schema_without_valid_values_falls_back_to_any_json_with_a_note(
    schema: Any, why: str
) -> None:
    """A schema hypothesis-jsonschema cannot draw from gives any JSON value, and says why."""
    found = Schema(None)
    assert found.valid(schema, "the JSON body") is any_json
    assert len(found.notes) >= 1
    assert found.notes[-1].startswith("the JSON body: " + why)
    assert found.notes[-1].endswith("; generating any JSON value instead")
