"""Fidelity over real servers: a client cannot tell the passthrough Flask app under gunicorn from
it served through the bridge, or through the gateway with no flags set (every endpoint on legacy),
under uvicorn, over TCP on 127.0.0.1. Requests are data (tests/support/passthrough.py); each is
built once as bytes and sent alike to both sides. The same cases in process:
tests/bridge/test_passthrough.py.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.passthrough import (
    CASES,
    HOST,
    PREFIX,
    PREFIX_CASES,
    SERVED_THROUGH,
    UPLOAD,
    Case,
    Snapshot,
    snapshot,
)
from tests.support.servers import free_port, running, uvicorn_argv


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
