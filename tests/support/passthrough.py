"""The passthrough requests, as data: each sent alike to the passthrough Flask app served alone
and served through the bridge or the gateway (tests/bridge/test_passthrough.py in process,
tests/e2e/test_passthrough.py over real servers)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import httpx

HOST = "passthrough.test"
PREFIX = "/legacy"
SERVED_THROUGH = ["bridge", "gateway"]
# Headers two correct servers legitimately differ on, so they are not compared:
# - date, server: each server stamps its own.
# - connection, keep-alive, transfer-encoding: hop-by-hop framing and keep-alive policy, which
#   gunicorn and uvicorn each choose for themselves (chunked vs close-delimited, close vs reuse).
# - x-strangler-backend, x-request-id: the gateway's mark of the backend that served, and the
#   request id it makes when a request has none, added on purpose.
IGNORED_HEADERS = frozenset(
    {
        "date",
        "server",
        "connection",
        "keep-alive",
        "transfer-encoding",
        "x-strangler-backend",
        "x-request-id",
    }
)
UPLOAD = bytes(range(256)) * 2048  # 512 KiB: bigger than the bridge buffers, so it streams in

Snapshot = tuple[int, list[tuple[str, str]], bytes]


@dataclasses.dataclass(frozen=True)
class Case:
    """One request, sent alike to the app served alone and served through the bridge."""

    name: str
    method: str
    path: str
    status: int = 200  # what the app answers: guards against two equally broken answers
    params: dict[str, str] | None = None
    headers: tuple[tuple[str, str], ...] = ()
    content: bytes | None = None
    data: dict[str, Any] | None = None
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None
    # False where Flask's test client is no reference: it maps `X_User` onto HTTP_X_USER where
    # real servers drop it, and it re-raises an `exc_info` where servers send the new headers.
    in_process: bool = True
    # False where gunicorn is no reference: given `exc_info` before any byte was sent, it sends
    # the old headers and the new ones (Content-Type twice); PEP 3333 says the new replace them.
    vs_gunicorn: bool = True
    under_prefix: bool = False  # also sent with the app mounted under PREFIX

    def request(self, base_url: str) -> httpx.Request:
        request = httpx.Request(
            self.method,
            base_url + self.path,
            params=self.params,
            headers=[("Host", HOST), *self.headers],
            content=self.content,
            data=self.data,
            files=self.files,
        )
        request.read()
        return request


CASES = [
    Case("plain_get", "GET", "/", under_prefix=True),
    Case("head_request", "HEAD", "/"),
    Case("head_of_a_stream", "HEAD", "/stream/numbers"),
    Case("several_set_cookie", "GET", "/cookies/set", under_prefix=True),
    Case("cookie_header", "GET", "/cookies/echo", headers=(("Cookie", "a=1; b=two"),)),
    Case("redirect_location", "GET", "/redirect", 302, under_prefix=True),
    Case("redirect_external_308", "GET", "/redirect/external", 308, under_prefix=True),
    Case("redirect_target", "GET", "/target", params={"q": "1"}, under_prefix=True),
    Case("not_found", "GET", "/nowhere", 404, under_prefix=True),
    Case("method_not_allowed", "DELETE", "/", 405),
    Case("flask_handles_its_error", "GET", "/error", 500),
    Case("form_fields", "POST", "/form", data={"name": ["Zoë", "Ann"], "x": "1"}),
    Case(
        "multipart_upload",
        "POST",
        "/form",
        data={"title": "ünï"},
        files=[
            ("doc", ("résumé.txt", "héllo".encode(), "text/plain")),
            ("doc", ("big.bin", UPLOAD, "application/octet-stream")),
        ],
    ),
    Case("small_body", "POST", "/echo", content=b"hello"),
    Case("big_body", "PUT", "/echo", content=UPLOAD),
    Case(
        "unicode_path_and_query", "GET", "/path/héllo wörld/ünï", params={"q": "ça va", "e": "🙂"}
    ),
    Case("encoded_slash", "GET", "/path/a%2Fb"),
    Case("environ", "GET", "/environ", params={"x": "1"}, under_prefix=True),
    Case(
        "underscore_header_dropped",
        "GET",
        "/environ",
        headers=(("X_User", "spoof"),),
        in_process=False,
    ),
    Case("streamed_response", "GET", "/stream/numbers", params={"n": "200"}),
    Case("raw_start_response_in_iterable", "GET", "/raw/late-start", 201),
    Case("raw_write_callable", "GET", "/raw/write"),
    Case(
        "raw_exc_info_replaces_headers",
        "GET",
        "/raw/exc-info",
        503,
        in_process=False,
        vs_gunicorn=False,
    ),
]
PREFIX_CASES = [case for case in CASES if case.under_prefix]


def snapshot(status: int, headers: Iterable[tuple[str, str]], body: bytes) -> Snapshot:
    """What a client notices of a response: status, headers in order, body bytes."""
    kept = [(name.lower(), value) for name, value in headers if name.lower() not in IGNORED_HEADERS]
    return status, kept, body
