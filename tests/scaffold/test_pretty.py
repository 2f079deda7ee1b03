"""The draft's source laid out as ruff formats it: its quotes, its split values (#26)."""

from __future__ import annotations

import ast

import pytest

from strangler.scaffold.pretty import LINE, Name, import_line, layout, literal


@pytest.mark.parametrize(
    ("value", "source"),
    [
        ("plain", '"plain"'),
        ("it's", '"it\'s"'),
        ('say "hi"', "'say \"hi\"'"),
        ('both \' and " "', "'both \\' and \" \"'"),
        ("line\nnext\\", '"line\\nnext\\\\"'),
        ({"a": [1, None, True]}, '{"a": [1, None, True]}'),
    ],
)
def test_a_literal_takes_double_quotes_unless_they_need_more_escapes(
    value: object, source: str
) -> None:
    """Strings are written in double quotes, in single ones only where the text holds more
    double quotes than single ones (ruff's choice), and read back as the same value."""
    assert literal(value) == source
    assert ast.literal_eval(source) == value


def test_a_long_value_is_split_one_item_a_line_and_its_strings_in_parts() -> None:
    """A dict too long for its line is one item a line with trailing commas, and a string too
    long is parts in parentheses, each within the line, joining to the same text."""
    text = "<p>" + "word " * 60 + "</p>\n<p>end</p>"
    lines = layout({200: {"model": Name("Item"), "example": text}}, 4, "responses=", ",")
    assert lines[0] == "    responses={"
    assert '            "model": Item,' in lines
    assert all(len(line) <= LINE for line in lines)
    source = "\n".join(lines).strip().removeprefix("responses=").removesuffix(",")
    item = object()
    assert eval(source, {"Item": item}) == {200: {"model": item, "example": text}}
    assert any(line.endswith("(") for line in lines)  # the example, in parts


def test_a_short_value_stays_on_one_line() -> None:
    """A value that fits is written on one line, without a trailing comma."""
    assert layout({200: {"description": "OK"}}, 4, "responses=", ",") == [
        '    responses={200: {"description": "OK"}},'
    ]


def test_an_import_too_long_for_a_line_is_one_name_a_line() -> None:
    """A `from x import ...` over the line length is parenthesized, one name a line."""
    names = [f"name_number_{i}" for i in range(10)]
    assert import_line("fastapi", names[:2]) == "from fastapi import name_number_0, name_number_1\n"
    wrapped = import_line("strangler.compat", names)
    assert wrapped.startswith("from strangler.compat import (\n    name_number_0,\n")
    assert wrapped.endswith("    name_number_9,\n)\n")
