"""Outbound HTTP from a sandbox is recorded and answered, never sent; outside one it goes out
as before. Checked against a real HTTP server on loopback that counts what reaches it."""

from __future__ import annotations

import asyncio
import http.server
import threading
from collections.abc import Iterator
from typing import ClassVar

import httpx
import pytest

from strangler.sandbox.context import OutboundCall, Sandbox
from strangler.sandbox.outbound import NOT_SENT, NOT_SENT_HEADER, install


class Counting(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", 0))
        self.rfile.read(length)
        Counting.hits.append(self.path)
        self.send_response(201)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def service() -> Iterator[str]:
    """A real HTTP service on loopback that records every request reaching it."""
    Counting.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Counting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(autouse=True)
def installed() -> None:
    assert "httpx" in install()


def test_httpx_in_a_sandbox_is_recorded_not_sent(service: str) -> None:
    """httpx (sync) in a sandbox: 503 marked not-sent, the call recorded, nothing reaches the
    service; the same call outside the sandbox reaches it."""
    with Sandbox() as box:
        answer = httpx.post(service + "/charge", json={"cents": 100})
    assert answer.status_code == 503
    assert answer.headers[NOT_SENT_HEADER] == NOT_SENT
    assert box.calls == [OutboundCall("POST", service + "/charge", b'{"cents":100}')]
    assert Counting.hits == []
    assert httpx.post(service + "/charge", json={"cents": 100}).status_code == 201
    assert Counting.hits == ["/charge"]


def test_async_httpx_in_a_sandbox_is_recorded_not_sent(service: str) -> None:
    """httpx's async client in a sandbox is recorded and answered too."""

    async def call() -> tuple[int, list[OutboundCall]]:
        async with httpx.AsyncClient() as client:
            with Sandbox() as box:
                answer = await client.post(service + "/mail", content=b"hello")
        return answer.status_code, box.calls

    status, calls = asyncio.run(call())
    assert status == 503
    assert calls == [OutboundCall("POST", service + "/mail", b"hello")]
    assert Counting.hits == []


def test_requests_in_a_sandbox_is_recorded_not_sent(service: str) -> None:
    """requests in a sandbox: 503 marked not-sent, recorded, never sent; outside, sent."""
    requests = pytest.importorskip("requests")
    assert "requests" in install()
    with Sandbox() as box:
        answer = requests.post(service + "/charge", data=b"x=1", timeout=5)
    assert answer.status_code == 503
    assert answer.headers[NOT_SENT_HEADER] == NOT_SENT
    assert box.calls == [OutboundCall("POST", service + "/charge", b"x=1")]
    assert Counting.hits == []
    assert requests.post(service + "/charge", data=b"x=1", timeout=5).status_code == 201
    assert Counting.hits == ["/charge"]
