"""Models inferred from JSON samples (strangler.scaffold.infer): each validates its samples,
and shows optional fields, enums, UUIDs, dates and maps where the samples do."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from strangler.scaffold.infer import Models, field_name


def built(samples: list[Any], name: str = "Thing") -> tuple[type[Any], str]:
    """The model inferred from `samples`, compiled, and its source."""
    models = Models()
    made = models.model(name, samples)
    source = "".join(models.header()) + "\n\n" + "\n\n".join(models.classes)
    namespace: dict[str, Any] = {}
    exec(compile(source, "<inferred>", "exec"), namespace)
    model = namespace[made]
    model.model_rebuild(_types_namespace=namespace)
    return model, source


ISSUES = [
    {
        "id": 1,
        "state": "open",
        "key": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
        "created": "2024-01-02T03:04:05Z",
        "due": "2024-02-01",
        "owner": {"login": "ann", "score": 1},
        "labels": ["bug"],
        "headers": {"User-Agent": "x", "Accept": "*/*"},
    },
    {
        "id": 2,
        "state": "closed",
        "key": "2b4e28ba-2fa1-11d2-883f-0016d3cca427",
        "created": "2024-03-02T03:04:05+01:00",
        "due": "2024-03-01",
        "owner": {"login": "bob", "score": 2.5},
        "labels": [],
        "note": None,
        "headers": {},
    },
    {
        "id": 3,
        "state": "open",
        "key": "3b4e28ba-2fa1-11d2-883f-0016d3cca427",
        "created": "2024-04-02 03:04",
        "due": "2024-04-01",
        "owner": {"login": "cid", "score": 3},
        "labels": ["a", "b"],
        "note": "hi",
        "headers": {"Host": "h"},
    },
]


def test_every_sample_validates_against_its_model() -> None:
    """The model inferred from three issues accepts each of them, and refuses another shape."""
    model, _ = built(ISSUES)
    for sample in ISSUES:
        model.model_validate(sample)
    with pytest.raises(pydantic.ValidationError):
        model.model_validate({**ISSUES[0], "state": "merged"})


def test_samples_show_optional_fields_enums_formats_and_maps() -> None:
    """A key missing or null somewhere is optional, a string with few values a Literal, UUIDs,
    date-times and dates typed, numbers mixed int and float are float, header maps dicts."""
    _, source = built(ISSUES)
    assert "    note: str | None = None\n" in source
    assert '    state: Literal["closed", "open"]\n' in source
    assert "    key: uuid.UUID\n" in source
    assert "    created: datetime.datetime\n" in source
    assert "    due: datetime.date\n" in source
    assert "    score: float\n" in source
    assert "    headers: dict[str, str]\n" in source
    assert "    labels: list[str]\n" in source
    assert "    id: int\n" in source


def test_two_values_are_not_an_enum() -> None:
    """Fewer than three samples show no enum: the field stays a string."""
    _, source = built([{"state": "open"}, {"state": "closed"}])
    assert "    state: str\n" in source


def test_a_list_at_the_top_is_a_root_model_of_its_items() -> None:
    """A JSON list answer becomes a RootModel of a list of item models; it validates."""
    samples = [[{"a": 1}, {"a": 2, "b": "x"}], []]
    model, source = built(samples)
    assert "RootModel[list[ThingItem]]" in source
    for sample in samples:
        model.model_validate(sample)


def test_keys_that_are_keywords_or_basemodel_names_get_aliases() -> None:
    """`class`, `json` and `_id` become fields with aliases, and still validate by their keys."""
    samples = [{"class": "a", "json": None, "_id": 3}]
    model, source = built(samples)
    assert 'class_: str = Field(alias="class")' in source
    assert field_name("json") == "json_"
    assert field_name("_id") == "f_id"
    assert model.model_validate(samples[0]).class_ == "a"
