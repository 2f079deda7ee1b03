"""Responses rendered byte for byte as legacy Flask rendered them.

JSON is Flask's `jsonify`: compact separators, sorted keys, ASCII only, a trailing newline,
Content-Type `application/json`. The HTML pages are werkzeug's own error pages, which clients
of legacy got whenever Flask (not the view) answered.
"""

from __future__ import annotations

import json
from typing import Any, Final

from fastapi.responses import HTMLResponse, JSONResponse


class FlaskJSONResponse(JSONResponse):
    """A JSON response whose body bytes equal Flask's `jsonify(content)`."""

    def render(self, content: Any) -> bytes:
        return (json.dumps(content, sort_keys=True, separators=(",", ":")) + "\n").encode()


def error(status: int, message: str) -> FlaskJSONResponse:
    """Returns legacy's error answer: `{"error": message}` with `status`."""
    return FlaskJSONResponse({"error": message}, status_code=status)


def _page(title: str, description: str) -> str:
    return (
        f"<!doctype html>\n<html lang=en>\n<title>{title}</title>\n"
        f"<h1>{title.split(' ', 1)[1]}</h1>\n<p>{description}</p>\n"
    )


# werkzeug's pages, escaped as werkzeug escapes them (note the &#39; in the 415 page).
FLASK_PAGES: Final[dict[int, str]] = {
    400: _page(
        "400 Bad Request",
        "The browser (or proxy) sent a request that this server could not understand.",
    ),
    404: _page(
        "404 Not Found",
        "The requested URL was not found on the server. If you entered the URL manually please "
        "check your spelling and try again.",
    ),
    405: _page("405 Method Not Allowed", "The method is not allowed for the requested URL."),
    415: _page(
        "415 Unsupported Media Type",
        "Did not attempt to load JSON data because the request Content-Type was not "
        "&#39;application/json&#39;.",
    ),
    500: _page(
        "500 Internal Server Error",
        "The server encountered an internal error and was unable to complete your request. "
        "Either the server is overloaded or there is an error in the application.",
    ),
}


def flask_page(status: int, headers: dict[str, str] | None = None) -> HTMLResponse:
    """Returns the HTML page Flask itself answers `status` with."""
    return HTMLResponse(FLASK_PAGES[status], status_code=status, headers=headers)
