"""Helpers to send raw requests to the legacy app and assert its exact answers."""

from __future__ import annotations

import json

import flask.testing
from werkzeug.test import TestResponse

JSON = "application/json"
HTML = "text/html; charset=utf-8"
ROW = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
ROW_PREDICTION = b"227.32442644860504"
BAD_REQUEST_TEXT = (
    "400 Bad Request: The browser (or proxy) sent a request that this server could not understand."
)
UNSUPPORTED_TEXT = (
    "415 Unsupported Media Type: Did not attempt to load JSON data because the request "
    "Content-Type was not 'application/json'."
)
INFINITY_TEXT = "Input X contains infinity or a value too large for dtype('float32')."


def post(
    client: flask.testing.FlaskClient,
    path: str,
    body: bytes | None,
    *,
    token: str | None = None,
    authorization: str | None = None,
    content_type: str | None = JSON,
) -> TestResponse:
    """POSTs raw `body` bytes with the given token (as `Bearer <token>`) and Content-Type."""
    headers: dict[str, str] = {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if authorization is not None:
        headers["Authorization"] = authorization
    return client.post(path, data=body, headers=headers)


def error_body(message: str) -> bytes:
    """Returns the bytes of legacy's `{"error": message}` answer."""
    return json.dumps({"error": message}, separators=(",", ":")).encode() + b"\n"


def assert_json(response: TestResponse, status: int, body: bytes) -> None:
    """Asserts a JSON answer's status, Content-Type and exact bytes."""
    assert (response.status_code, response.content_type, response.data) == (status, JSON, body)


def assert_error(response: TestResponse, status: int, message: str) -> None:
    """Asserts legacy's JSON error answer, byte for byte."""
    assert_json(response, status, error_body(message))


def assert_page(response: TestResponse, status: int, title: str) -> None:
    """Asserts that Flask itself answered with its HTML page for `status`."""
    assert (response.status_code, response.content_type) == (status, HTML)
    assert f"<title>{title}</title>".encode() in response.data
