"""Reads a request body exactly as legacy's `request.get_json()` did, without Flask.

Flask only parses when the Content-Type's media type is `application/json` or
`application/*+json` (case-insensitive, parameters ignored), and parses the raw bytes with the
standard `json.loads`, which accepts `NaN`/`Infinity` and detects UTF-8/16/32. On failure it
raises werkzeug's UnsupportedMediaType or BadRequest; `BodyError` carries the same status and
the same `str()`, because legacy's predict routes answered with that text. JSON nested too deep
for the parser raised RecursionError through werkzeug: a 500 with that text.
"""

from __future__ import annotations

import json
from typing import Any, Final

# str() of the werkzeug exceptions Flask raised (Flask hides the JSON error's detail unless debug).
UNSUPPORTED_MEDIA_TYPE: Final = (
    "415 Unsupported Media Type: Did not attempt to load JSON data because the request "
    "Content-Type was not 'application/json'."
)
BAD_REQUEST: Final = (
    "400 Bad Request: The browser (or proxy) sent a request that this server could not understand."
)


class BodyError(Exception):
    """Raised when the body is not JSON by Content-Type (415) or by content (400)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def is_json(content_type: str | None) -> bool:
    """Tells whether werkzeug would treat `content_type` as JSON."""
    mimetype = (content_type or "").partition(";")[0].strip(" \t").lower()
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


def decode_json(content_type: str | None, body: bytes) -> Any:
    """Returns the decoded JSON value of `body`, or raises BodyError as Flask would."""
    if not is_json(content_type):
        raise BodyError(415, UNSUPPORTED_MEDIA_TYPE)
    try:
        return json.loads(body)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError alike, as in werkzeug.
        raise BodyError(400, BAD_REQUEST) from exc
    except RecursionError as exc:  # JSON nested thousands deep: werkzeug let this escape (a 500)
        raise BodyError(500, str(exc)) from exc
