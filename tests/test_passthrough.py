"""Fidelity: a client cannot tell the passthrough Flask app served alone from it served through
the bridge, or through the gateway with no flags set (every endpoint on legacy).

Two levels: in-process (Flask's test client vs httpx.ASGITransport, which buffers responses, so
no streaming here) and real servers (gunicorn vs uvicorn, over TCP on 127.0.0.1). Requests are
data (`CASES`); each is built once as bytes and sent alike to both sides.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import socket
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from strangler.types import ASGIApp
from tests.support.servers import free_port, running, uvicorn_argv
from tests.test_apps import passthrough

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


# --- in process ---------------------------------------------------------------------------------


def served_in_process(through: str) -> ASGIApp:
    if through == "bridge":
        return passthrough.bridged
    from tests.test_apps.passthrough_gateway import create

    return create()


def via_flask_test_client(request: httpx.Request, *, script_name: str = "") -> Snapshot:
    client = passthrough.app.test_client(use_cookies=False)  # its jar would replace Cookie
    response = client.open(
        request.url.raw_path.decode("ascii"),
        method=request.method,
        headers=list(request.headers.multi_items()),
        data=request.content,
        base_url=f"http://{HOST}{script_name}",
    )
    return snapshot(response.status_code, response.headers.to_wsgi_list(), response.get_data())


async def via_asgi(asgi_app: ASGIApp, request: httpx.Request, *, root_path: str = "") -> Snapshot:
    transport = httpx.ASGITransport(asgi_app, root_path=root_path)
    async with httpx.AsyncClient(transport=transport) as client:
        response = await client.send(request)
    return snapshot(response.status_code, response.headers.multi_items(), response.content)


@pytest.mark.parametrize("through", SERVED_THROUGH)
@pytest.mark.parametrize("case", [c for c in CASES if c.in_process], ids=lambda c: c.name)
async def test_case_matches_flask_alone_in_process(case: Case, through: str) -> None:
    """The response through the bridge equals Flask's own answer to the same request."""
    alone = via_flask_test_client(case.request(f"http://{HOST}"))
    served = await via_asgi(served_in_process(through), case.request(f"http://{HOST}"))
    assert served == alone
    assert served[0] == case.status


@pytest.mark.parametrize("through", SERVED_THROUGH)
@pytest.mark.parametrize("case", PREFIX_CASES, ids=lambda c: c.name)
async def test_case_under_a_prefix_matches_flask_alone_in_process(case: Case, through: str) -> None:
    """Mounted under a prefix (root_path), the bridge answers as Flask under that SCRIPT_NAME."""
    alone = via_flask_test_client(case.request(f"http://{HOST}"), script_name=PREFIX)
    request = case.request(f"http://{HOST}{PREFIX}")
    served = await via_asgi(served_in_process(through), request, root_path=PREFIX)
    assert served == alone
    assert served[0] == case.status


@pytest.mark.parametrize("through", SERVED_THROUGH)
async def test_several_cookie_headers_read_as_one_in_process(through: str) -> None:
    """Several Cookie fields reach Flask as one joined with "; ", so every cookie is seen."""
    split = Case("split", "GET", "/cookies/echo", headers=(("Cookie", "a=1"), ("Cookie", "b=2")))
    joined = Case("joined", "GET", "/cookies/echo", headers=(("Cookie", "a=1; b=2"),))
    served = await via_asgi(served_in_process(through), split.request(f"http://{HOST}"))
    assert served == via_flask_test_client(joined.request(f"http://{HOST}"))
    assert served[2] == b'{"a":"1","b":"2"}\n'


@pytest.mark.parametrize("through", SERVED_THROUGH)
async def test_session_counts_alike_in_process(through: str) -> None:
    """A session cookie set by Flask comes back and counts up through the bridge as alone."""
    transport = httpx.ASGITransport(served_in_process(through))
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{HOST}") as client:
        served = [(await client.post("/session/incr")).json()["count"] for _ in range(3)]
    alone_client = passthrough.app.test_client()
    alone = [alone_client.post("/session/incr").get_json()["count"] for _ in range(3)]
    assert served == alone == [1, 2, 3]


@pytest.mark.parametrize("through", SERVED_THROUGH)
async def test_chunked_upload_reaches_flask_whole_in_process(through: str) -> None:
    """A request body of unknown length (chunked) reaches Flask in full."""

    async def parts() -> Any:
        for i in range(5):
            yield UPLOAD[i * 1000 : (i + 1) * 1000]

    transport = httpx.ASGITransport(served_in_process(through))
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{HOST}") as client:
        response = await client.post("/echo", content=parts())
    assert response.json()["length"] == 5000
    assert response.json()["transfer_encoding"] == "chunked"


@pytest.mark.parametrize("through", SERVED_THROUGH)
async def test_asgi_scope_is_reachable_from_flask_in_process(through: str) -> None:
    """Flask sees the original ASGI scope as environ["asgi.scope"]."""
    transport = httpx.ASGITransport(served_in_process(through), root_path=PREFIX)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{HOST}") as client:
        response = await client.get(f"{PREFIX}/asgi-scope")
    assert response.json() == {"type": "http", "path": f"{PREFIX}/asgi-scope", "root_path": PREFIX}


# --- real servers -------------------------------------------------------------------------------


class Servers:
    """Starts each (kind, prefix) server on first use and keeps it for the module."""

    def __init__(self, stack: contextlib.ExitStack, state_dir: Path) -> None:
        self._stack = stack
        self.state_dir = state_dir
        self._urls: dict[tuple[str, str], str] = {}

    def url(self, kind: str, prefix: str = "") -> str:
        if (kind, prefix) not in self._urls:
            port = free_port()
            # One hash seed for every server: Flask builds `Allow` from a set, whose order
            # would otherwise differ between any two processes.
            env = {"PASSTHROUGH_STATE_DIR": str(self.state_dir), "PYTHONHASHSEED": "0"}
            if kind == "alone":
                argv = [sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", "-w", "1"]
                argv += ["--threads", "4", "--log-level", "warning"]
                argv += ["tests.test_apps.passthrough:app"]
                if prefix:  # gunicorn expects the prefix in the request path and strips it
                    env["SCRIPT_NAME"] = prefix
            elif kind == "bridge":
                argv = uvicorn_argv("tests.test_apps.passthrough:bridged", port=port)
            else:
                argv = uvicorn_argv(
                    "tests.test_apps.passthrough_gateway:create", port=port, factory=True
                )
            if prefix and kind != "alone":  # uvicorn expects a proxy to have stripped the prefix
                argv += ["--root-path", prefix]
            base_url = self._stack.enter_context(running(argv, port=port, env=env))
            self._urls[kind, prefix] = base_url + (prefix if kind == "alone" else "")
        return self._urls[kind, prefix]


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    with contextlib.ExitStack() as stack:
        yield Servers(stack, tmp_path_factory.mktemp("passthrough-state"))


def fetch(base_url: str, case: Case) -> Snapshot:
    with httpx.Client(timeout=10.0) as client:
        response = client.send(case.request(base_url))
    return snapshot(response.status_code, response.headers.multi_items(), response.content)


def address(base_url: str) -> tuple[str, int]:
    host, port = base_url.removeprefix("http://").split("/")[0].split(":")
    return host, int(port)


def raw_exchange(base_url: str, head: bytes, body_parts: Iterable[bytes] = ()) -> Snapshot:
    """Sends hand-written request bytes (what httpx cannot express) and reads the response."""
    with socket.create_connection(address(base_url), timeout=10.0) as sock:
        sock.sendall(head)
        for part in body_parts:
            sock.sendall(part)
        response = http.client.HTTPResponse(sock, method=head.split(b" ", 1)[0].decode())
        response.begin()
        body = response.read()
        return snapshot(response.status, response.getheaders(), body)


@pytest.mark.server
@pytest.mark.parametrize("through", SERVED_THROUGH)
@pytest.mark.parametrize("case", [c for c in CASES if c.vs_gunicorn], ids=lambda c: c.name)
def test_case_matches_flask_alone_over_real_servers(
    case: Case, through: str, servers: Servers
) -> None:
    """Over TCP, uvicorn with the bridge answers as gunicorn with the app alone."""
    served = fetch(servers.url(through), case)
    assert served == fetch(servers.url("alone"), case)
    assert served[0] == case.status


@pytest.mark.server
@pytest.mark.parametrize("through", SERVED_THROUGH)
@pytest.mark.parametrize("case", PREFIX_CASES, ids=lambda c: c.name)
def test_case_under_a_prefix_matches_flask_alone_over_real_servers(
    case: Case, through: str, servers: Servers
) -> None:
    """Under a prefix, uvicorn's root_path through the bridge equals gunicorn's SCRIPT_NAME."""
    served = fetch(servers.url(through, PREFIX), case)
    assert served == fetch(servers.url("alone", PREFIX), case)
    assert served[0] == case.status


@pytest.mark.server
@pytest.mark.parametrize("through", SERVED_THROUGH)
def test_exc_info_before_the_first_byte_replaces_the_headers(
    through: str, servers: Servers
) -> None:
    """start_response with exc_info before any byte was sent replaces status and headers."""
    case = next(c for c in CASES if c.name == "raw_exc_info_replaces_headers")
    expected = [("content-type", "text/plain")]
    assert fetch(servers.url(through), case) == (503, expected, b"replaced by the error page")


@pytest.mark.server
@pytest.mark.parametrize("through", SERVED_THROUGH)
def test_session_counts_alike_over_real_servers(through: str, servers: Servers) -> None:
    """The session cookie round-trips through the bridge as through gunicorn."""
    counts = {}
    for kind in (through, "alone"):
        with httpx.Client(base_url=servers.url(kind), timeout=10.0) as client:
            responses = [client.post("/session/incr") for _ in range(3)]
        counts[kind] = [r.json()["count"] for r in responses]
        # The signed value carries a timestamp; its attributes must match.
        assert {r.headers["set-cookie"].split(";", 1)[1] for r in responses} == {
            " HttpOnly; Path=/"
        }
    assert counts[through] == counts["alone"] == [1, 2, 3]


@pytest.mark.server
@pytest.mark.parametrize("through", SERVED_THROUGH)
def test_several_cookie_headers_read_as_one_over_real_servers(
    through: str, servers: Servers
) -> None:
    """Several Cookie fields through the bridge read as one "; "-joined field sent to gunicorn."""
    # gunicorn (and werkzeug's server) join repeated Cookie fields with ",", which Flask reads as
    # one cookie `a` of value "1,b=2"; the bridge joins them as RFC 9113 8.2.3 says, so the
    # reference is the single joined field.
    split = b"Cookie: a=1\r\nCookie: b=2\r\n"
    joined = b"Cookie: a=1; b=2\r\n"
    head = b"GET /cookies/echo HTTP/1.1\r\nHost: " + HOST.encode() + b"\r\nConnection: close\r\n"
    served = raw_exchange(servers.url(through), head + split + b"\r\n")
    assert served == raw_exchange(servers.url("alone"), head + joined + b"\r\n")
    assert served[2] == b'{"a":"1","b":"2"}\n'


@pytest.mark.server
@pytest.mark.parametrize("through", SERVED_THROUGH)
def test_chunked_upload_matches_over_real_servers(through: str, servers: Servers) -> None:
    """A chunked request body (no Content-Length) reaches Flask whole, as under gunicorn."""
    head = (
        b"POST /echo HTTP/1.1\r\nHost: passthrough.test\r\nConnection: close\r\n"
        b"Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    pieces = [UPLOAD[i : i + 70_000] for i in range(0, len(UPLOAD), 70_000)]
    chunks = [b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces] + [b"0\r\n\r\n"]
    served = raw_exchange(servers.url(through), head, chunks)
    assert served == raw_exchange(servers.url("alone"), head, chunks)
    assert b'"length":524288' in served[2]


@pytest.mark.server
@pytest.mark.parametrize("kind", ["alone", *SERVED_THROUGH])
def test_streamed_response_arrives_incrementally(kind: str, servers: Servers) -> None:
    """The first chunk of a generator reaches the client while the generator still waits."""
    token = uuid.uuid4().hex
    request = f"GET /stream/gated/{token} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n"
    received = b""
    with socket.create_connection(address(servers.url(kind)), timeout=3.0) as sock:
        sock.sendall(request.encode())
        for _ in range(100):  # the generator holds its second chunk until we answer (<= 5 s)
            received += sock.recv(65536)
            if b"first\n" in received:
                break
        assert b"first\n" in received
        assert b"second" not in received
        (servers.state_dir / f"{token}.go").touch()
        for _ in range(100):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    assert b"second\n" in received


@pytest.mark.server
@pytest.mark.parametrize("through", SERVED_THROUGH)
def test_disconnect_mid_stream_frees_the_worker_within_2s(through: str, servers: Servers) -> None:
    """A client leaving mid-stream gets its generator closed (its thread freed) within 2 s."""
    token = uuid.uuid4().hex
    closed = servers.state_dir / f"{token}.closed"
    with socket.create_connection(address(servers.url(through)), timeout=3.0) as sock:
        sock.sendall(f"GET /stream/endless/{token} HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
        received = b""
        for _ in range(100):
            received += sock.recv(4096)
            if b"tick 1\n" in received:
                break
        assert b"tick 1\n" in received
    left = time.monotonic()
    while not closed.exists() and time.monotonic() - left < 2.0:
        time.sleep(0.02)
    assert closed.exists(), "the generator still runs 2 s after the client left"
    assert httpx.get(servers.url(through) + "/", timeout=5.0).status_code == 200


@pytest.mark.server
@pytest.mark.parametrize("kind", ["alone", *SERVED_THROUGH])
def test_raw_app_error_answers_500_and_the_server_survives(kind: str, servers: Servers) -> None:
    """A raw WSGI app raising before it starts a response gets a 500; the next request works."""
    with httpx.Client(base_url=servers.url(kind), timeout=10.0) as client:
        assert client.get("/raw/boom").status_code == 500
        assert client.get("/").status_code == 200


@pytest.mark.server
@pytest.mark.parametrize("kind", ["alone", *SERVED_THROUGH])
def test_raw_app_error_mid_stream_breaks_the_response(kind: str, servers: Servers) -> None:
    """A raw WSGI app raising mid-response leaves a visibly broken response, never a short one."""
    with httpx.Client(base_url=servers.url(kind), timeout=10.0) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/raw/boom-mid")
        assert client.get("/").status_code == 200


@pytest.mark.server
@pytest.mark.parametrize("through", SERVED_THROUGH)
def test_asgi_scope_is_reachable_from_flask_over_real_servers(
    through: str, servers: Servers
) -> None:
    """Under uvicorn, Flask sees the scope uvicorn built, prefix included; alone it has none."""
    response = httpx.get(servers.url(through, PREFIX) + "/asgi-scope", timeout=10.0)
    assert response.json() == {"type": "http", "path": f"{PREFIX}/asgi-scope", "root_path": PREFIX}
    assert httpx.get(servers.url("alone") + "/asgi-scope", timeout=10.0).status_code == 404
