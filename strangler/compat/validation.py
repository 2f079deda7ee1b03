"""How a port answers a request FastAPI's validation refused, in the shape legacy used.

FastAPI answers `{"detail": [...]}` with 422; a Flask app answered its own way. A style is a
function from the RequestValidationError to either a Werkzeug exception (rendered as Flask would,
through the legacy app's own error handlers when `install_legacy_errors` is given the app) or a
ready response:

- `bad_request_page`: Werkzeug's 400 page, Flask's answer to a body or argument it could not read;
- `webargs_page`: webargs' default, `abort(422)` carrying `data["messages"]` (the 422 page, or
  whatever the app's `errorhandler(422)` makes of the messages);
- `webargs_json(key, status)`: the JSON answer webargs' documented error handler gives,
  `{"errors": {"json": {"email": ["Not a valid email address."]}}}`;
- `json_template(template, status)`: any JSON, `"$messages"` standing for webargs' messages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi.exceptions import RequestValidationError
from starlette.responses import Response
from werkzeug.exceptions import BadRequest, HTTPException, UnprocessableEntity

from strangler.compat.responses import jsonify

Style = Callable[[RequestValidationError], HTTPException | Response]

# Where webargs' Flask parser names each place FastAPI reads from.
_LOCATIONS = {
    "body": "json",
    "query": "query",
    "header": "headers",
    "cookie": "cookies",
    "path": "view_args",
}
# marshmallow's messages for the Pydantic error types that have a plain equivalent.
_MESSAGES = {
    "missing": "Missing data for required field.",
    "int_parsing": "Not a valid integer.",
    "int_type": "Not a valid integer.",
    "int_from_float": "Not a valid integer.",
    "float_parsing": "Not a valid number.",
    "float_type": "Not a valid number.",
    "string_type": "Not a valid string.",
    "bool_parsing": "Not a valid boolean.",
    "bool_type": "Not a valid boolean.",
    "list_type": "Not a valid list.",
    "dict_type": "Invalid input type.",
    "model_type": "Invalid input type.",
    "model_attributes_type": "Invalid input type.",
    "extra_forbidden": "Unknown field.",
    "json_invalid": "Invalid JSON body.",
    "uuid_parsing": "Not a valid UUID.",
    "datetime_parsing": "Not a valid datetime.",
    "date_from_datetime_parsing": "Not a valid date.",
}


def message(error: Mapping[str, Any]) -> str:
    """marshmallow's message for one Pydantic error (Pydantic's own where none is known)."""
    kind = error.get("type", "")
    context = error.get("ctx") or {}
    if kind == "string_too_short":
        return f"Shorter than minimum length {context.get('min_length')}."
    if kind == "string_too_long":
        return f"Longer than maximum length {context.get('max_length')}."
    if kind in ("enum", "literal_error") and "expected" in context:
        return f"Must be one of: {context['expected'].replace(' or ', ', ')}."
    return _MESSAGES.get(kind, str(error.get("msg", "Invalid value.")))


def webargs_messages(exc: RequestValidationError) -> dict[str, Any]:
    """The errors as webargs reports them: location, then field path, then a list of messages."""
    found: dict[str, Any] = {}
    for error in exc.errors():
        location, *path = [str(part) for part in error.get("loc", ("body",))]
        node = found.setdefault(_LOCATIONS.get(location, location), {})
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node.setdefault(path[-1] if path else "_schema", []).append(message(error))
    return found


def bad_request_page(exc: RequestValidationError) -> HTTPException:
    """Werkzeug's 400: what Flask answers for a request it could not read."""
    return BadRequest()


def webargs_page(exc: RequestValidationError) -> HTTPException:
    """webargs' own answer: `abort(422)` with the messages in `data` for an error handler."""
    error = UnprocessableEntity()
    error.data = {"messages": webargs_messages(exc)}  # type: ignore[attr-defined]
    return error


def webargs_json(key: str = "errors", status: int = 422) -> Style:
    """The style of webargs' documented handler: `jsonify({key: messages}), status`."""

    def style(exc: RequestValidationError) -> Response:
        return jsonify({key: webargs_messages(exc)}, status)

    return style


def json_template(template: Any, status: int = 400) -> Style:
    """`template` as JSON, every `"$messages"` string in it replaced by webargs' messages."""

    def fill(value: Any, messages: dict[str, Any]) -> Any:
        if value == "$messages":
            return messages
        if isinstance(value, dict):
            return {k: fill(v, messages) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v, messages) for v in value]
        return value

    def style(exc: RequestValidationError) -> Response:
        return jsonify(fill(template, webargs_messages(exc)), status)

    return style


STYLES: dict[str, Style] = {"werkzeug": bad_request_page, "webargs": webargs_page}
