"""The corpus's JSON path dialect."""

from __future__ import annotations

import pytest

from strangler.comparison import jsonpath


def test_parse_reads_keys_indexes_wildcards_and_quoted_keys() -> None:
    """A path becomes keys, indexes and wildcards, quoted keys included."""
    assert jsonpath.parse('$.a[0]["b c"].*[*]') == ("a", 0, "b c", "*", "*")


def test_parse_names_what_it_cannot_read() -> None:
    """A bad path is refused with the part it could not read and the forms it can."""
    with pytest.raises(ValueError, match=r"cannot read '\{x\}'"):
        jsonpath.parse("$.a{x}")


def test_format_location_quotes_keys_that_are_not_identifiers() -> None:
    """A concrete location is written back as a path a reader can paste."""
    assert jsonpath.format_location(("a", 0, "b c")) == '$.a[0]["b c"]'


def test_transform_applies_to_every_wildcard_match_and_can_drop() -> None:
    """A wildcard path reaches every item; DROP removes the location."""
    value = {"items": [{"id": 1, "at": "x"}, {"id": 2, "at": "y"}]}
    dropped = jsonpath.transform(value, jsonpath.parse("$.items[*].at"), lambda _: jsonpath.DROP)
    assert dropped == {"items": [{"id": 1}, {"id": 2}]}
    assert value["items"][0]["at"] == "x"  # the original is untouched


def test_transform_leaves_missing_locations_alone() -> None:
    """A path that names nothing in this body changes nothing."""
    assert jsonpath.transform([1], jsonpath.parse("$.a.b"), lambda _: 0) == [1]
