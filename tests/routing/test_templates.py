"""Route templates and route keys: one syntax for both frameworks (strangler.routing.templates)."""

from __future__ import annotations

import pytest

from strangler.routing.templates import normalise_template, parse_route_key


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("/predict/<label>", "/predict/{label}"),
        ("/predict/{label}", "/predict/{label}"),
        ("/items/<int:item_id>", "/items/{item_id}"),
        ("/files/<path:name>", "/files/{name:path}"),
        ("/files/{name:path}", "/files/{name:path}"),
        ("/a/<string(length=2):x>/b", "/a/{x}/b"),
        ("/plain", "/plain"),
    ],
)
def test_flask_and_fastapi_templates_share_one_syntax(template: str, expected: str) -> None:
    """Flask's <conv:name> and FastAPI's {name} both normalise to {name} ({name:path} for paths)."""
    assert normalise_template(template) == expected


def test_malformed_route_key_says_how_to_write_one() -> None:
    """A key without a method or a leading slash is refused with an example."""
    with pytest.raises(ValueError, match="METHOD /path"):
        parse_route_key("/health")
