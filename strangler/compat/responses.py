"""JSON answers byte for byte as Flask's `jsonify` renders them.

Flask's default JSON provider (outside debug mode) writes compact separators, sorted keys and
ASCII only, then a trailing newline, as `application/json`. Starlette's JSONResponse writes no
newline and keeps key order, so a client comparing bytes (or an ETag) would see the port.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import JSONResponse, Response


class FlaskJSONResponse(JSONResponse):
    """A JSON response whose body bytes equal Flask's `jsonify(content)`."""

    def render(self, content: Any) -> bytes:
        return (json.dumps(content, sort_keys=True, separators=(",", ":")) + "\n").encode()


def jsonify(
    content: Any, status: int = 200, headers: dict[str, str] | None = None
) -> FlaskJSONResponse:
    """Returns `content` as Flask's `jsonify(content), status` would."""
    return FlaskJSONResponse(content, status_code=status, headers=headers)


class Answered(Exception):
    """Raised by a dependency with legacy's ready answer; install_legacy_errors sends it."""

    def response(self) -> Response:
        """The answer to send."""
        raise NotImplementedError
