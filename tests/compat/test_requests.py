"""strangler.compat.requests: the request a port reads is Werkzeug's, made cheaply (#26).

`LegacyRequest.of(scope, body)` must answer exactly what Werkzeug's own constructor over the
environ answers, while building nothing `get_json()` does not read.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from starlette.requests import Request
from werkzeug.exceptions import (
    BadRequest,
    HTTPException,
    RequestEntityTooLarge,
    UnsupportedMediaType,
)

from strangler.compat import requests as kit
from strangler.compat.requests import LegacyRequest, environ_of, legacy_request
from tests.support.bytecodes import bytecodes_per_call

BODY = json.dumps({"features": [0.5 + i for i in range(10)]}).encode()


def scope(headers: list[tuple[bytes, bytes]], **extra: Any) -> dict[str, Any]:
    return {
        "type": "http",
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/predict",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        **extra,
    }


JSON = [(b"content-type", b"application/json")]
# Scopes where the environ's rules (joins, dropped names, latin-1, root paths) matter.
SCOPES = {
    "json": (scope(JSON), BODY),
    "json, charset": (scope([(b"content-type", b"Application/JSON; charset=utf-8")]), BODY),
    "vendor json": (scope([(b"content-type", b"application/vnd.x+json")]), b"[1]"),
    "text": (scope([(b"content-type", b"text/plain")]), BODY),
    "none": (scope([]), BODY),
    "bad json": (scope(JSON), b"{bad"),
    "empty body": (scope(JSON), b""),
    "two content types": (scope([*JSON, (b"content-type", b"text/plain")]), BODY),
    "empty then json": (scope([(b"content-type", b""), *JSON]), BODY),
    "upper-case name": (scope([(b"Content-Type", b"application/json")]), BODY),
    "underscore name": (scope([(b"content_type", b"application/json")]), BODY),
    "form": (
        scope(
            [(b"content-type", b"application/x-www-form-urlencoded"), (b"x-via", b"a")],
            query_string=b"tag=a&tag=b&limit=x",
        ),
        b"name=ada&tag=c&tag=d",
    ),
    "root path, non-ascii path": (
        scope(
            [*JSON, (b"cookie", b"a=1"), (b"cookie", b"b=2"), (b"x-via", b"a"), (b"x-via", b"b")],
            root_path="/api",
            path="/api/caf\u00e9/",
            method="put",
            server=None,
            client=None,
        ),
        BODY,
    ),
}


def json_of(request: LegacyRequest, **options: Any) -> Any:
    """What `get_json(**options)` answers: the value, or the HTTP error it raises."""
    try:
        return request.get_json(**options)
    except HTTPException as exc:
        return type(exc), str(exc)


def seen(request: LegacyRequest) -> dict[str, Any]:
    """Everything a port reads from the request, in the order a handler might read it."""
    return {
        "json": json_of(request),
        "silent": json_of(request, silent=True),
        "forced": json_of(request, force=True),
        "mimetype": (request.mimetype, request.mimetype_params),
        "line": (request.method, request.scheme, request.server, request.remote_addr),
        "paths": (request.root_path, request.path, request.url, request.query_string),
        "args": request.args.to_dict(flat=False),
        "form": request.form.to_dict(flat=False),
        "data": (request.get_data(), request.data),
        "headers": sorted(request.headers.items()),
        "cookies": request.cookies.to_dict(),
        "environ": sorted(
            (key, value)
            for key, value in request.environ.items()
            if isinstance(value, str) and key != "werkzeug.request"
        ),
    }


@pytest.mark.parametrize("case", SCOPES)
def test_a_request_made_from_the_scope_answers_as_werkzeugs_constructor(case: str) -> None:
    """`LegacyRequest.of` answers every attribute as `LegacyRequest(environ_of(...))` does."""
    made, body = SCOPES[case]
    assert seen(LegacyRequest.of(made, body)) == seen(LegacyRequest(environ_of(made, body)))


@pytest.mark.parametrize("case", SCOPES)
def test_form_and_stream_read_first_answer_as_werkzeugs_constructor(case: str) -> None:
    """Reading the form or the stream before the JSON leaves the same body as Werkzeug's."""
    made, body = SCOPES[case]
    quick, reference = LegacyRequest.of(made, body), LegacyRequest(environ_of(made, body))
    assert quick.form.to_dict(flat=False) == reference.form.to_dict(flat=False)
    assert quick.stream.read() == reference.stream.read()
    assert seen(quick) == seen(reference)


def test_get_json_builds_no_environ() -> None:
    """A JSON body is read from the scope and the body alone: no environ, no header view."""
    request = LegacyRequest.of(scope(JSON), BODY)
    assert request.get_json() == json.loads(BODY)
    assert "environ" not in request.__dict__
    assert "headers" not in request.__dict__


def test_the_environ_built_later_is_the_requests_own() -> None:
    """The environ built on demand names the request and shares its (already read) stream."""
    request = LegacyRequest.of(scope(JSON), BODY)
    request.get_json()
    assert request.environ["werkzeug.request"] is request
    assert request.environ["wsgi.input"] is request.stream
    assert request.headers.get("Content-Type") == "application/json"


def test_a_bad_body_is_flasks_bare_400_and_a_wrong_type_its_415() -> None:
    """The errors keep Flask's texts: no decoder detail in the 400."""
    with pytest.raises(BadRequest) as bad:
        LegacyRequest.of(scope(JSON), b"{bad").get_json()
    assert "Failed to decode" not in str(bad.value)
    with pytest.raises(UnsupportedMediaType):
        LegacyRequest.of(scope([(b"content-type", b"text/plain")]), BODY).get_json()


def test_a_length_limit_still_applies() -> None:
    """A subclass setting `max_content_length` gets Werkzeug's limited stream, not the body."""

    class Limited(LegacyRequest):
        max_content_length = 4

    for headers in (JSON, [*JSON, (b"content-length", str(len(BODY)).encode())]):
        made = scope(headers)
        answer = json_of(Limited.of(made, BODY))
        assert answer == json_of(Limited(environ_of(made, BODY)))
        assert answer[0] in (BadRequest, RequestEntityTooLarge)


def test_one_requests_mimetype_params_do_not_leak_into_the_next() -> None:
    """The parsed Content-Type is shared between requests, its parameters are not."""
    charset = [(b"content-type", b"application/json; charset=utf-8")]
    LegacyRequest.of(scope(charset), BODY).mimetype_params["charset"] = "changed"
    assert LegacyRequest.of(scope(charset), BODY).mimetype_params == {"charset": "utf-8"}


def test_the_caches_stay_bounded_under_names_and_types_clients_choose() -> None:
    """Thousands of distinct header names and content types leave both caches bounded."""
    for n in range(3000):
        headers = [(f"x-name-{n}".encode(), b"v"), (b"content-type", f"text/x-{n}".encode())]
        request = LegacyRequest.of(scope(headers), b"")
        assert request.mimetype == f"text/x-{n}"
        assert request.environ[f"HTTP_X_NAME_{n}"] == "v"
    assert len(kit._KEYS) <= kit._KEYS_KEPT
    assert len(kit._CONTENT_TYPES) <= kit._CONTENT_TYPES_KEPT


def test_the_dependency_makes_one_request_per_request() -> None:
    """`legacy_request` gives the same object to every reader of one request."""
    made = scope(JSON)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": BODY, "more_body": False}

    async def twice() -> tuple[LegacyRequest, LegacyRequest]:
        return await legacy_request(Request(made, receive)), await legacy_request(
            Request(made, receive)
        )

    first, second = asyncio.run(twice())
    assert first is second
    assert first.get_json() == json.loads(BODY)


def test_reading_a_json_body_stays_within_its_bytecode_budget() -> None:
    """Reading /predict's body through the kit runs under 950 bytecodes in all: 857 now, 1,471
    before #26; Starlette's body and json.loads alone, the hand decoding it replaced, run 614."""
    headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"user-agent", b"python-httpx/0.28.1"),
        (b"accept", b"*/*"),
        (b"accept-encoding", b"gzip, deflate"),
        (b"connection", b"keep-alive"),
        (b"authorization", b"Bearer x.y.z"),
        *JSON,
        (b"content-length", str(len(BODY)).encode()),
    ]

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": BODY, "more_body": False}

    async def read() -> Any:
        return (await legacy_request(Request(scope(list(headers)), receive))).get_json()

    count, by_function = asyncio.run(bytecodes_per_call(read, under="/"))
    assert count < 950, by_function.most_common(10)
