"""The health listener (strangler.serving.health): health on a port and a thread of its own."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from strangler.errors import ConfigError
from strangler.serving.health import HealthListener
from tests.support.servers import free_port
from tests.support.waiting import wait_until


def probe(port: int, request: bytes = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n") -> bytes:
    """Sends `request` on a fresh connection; returns all that comes back until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def status_and_body(answer: bytes) -> tuple[int, dict[str, Any]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


@pytest.fixture
def main_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop running in a thread of its own: the server's main loop, as the listener
    sees it."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=5)
    loop.close()


def started_on(loop: asyncio.AbstractEventLoop, listener: HealthListener) -> None:
    async def start() -> None:
        listener.start()

    asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=5)


def test_a_probe_gets_the_report_as_json_and_the_connection_closes() -> None:
    """Any request on the port is answered 200 with the report and `connection: close`; once
    stopped, nothing listens there."""
    port = free_port()
    listener = HealthListener("127.0.0.1", port, lambda: {"status": "ok", "worker": "w1"})
    listener.start()
    try:
        answer = probe(port)
        assert probe(port, b"HEAD /anything HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.1 200")
    finally:
        listener.stop()
    status, body = status_and_body(answer)
    assert status == 200
    assert body["status"] == "ok"
    assert body["worker"] == "w1"
    assert b"connection: close" in answer
    with pytest.raises(ConnectionRefusedError):
        probe(port)


def test_a_probe_is_answered_while_the_main_loop_is_blocked_and_says_stalled(
    main_loop: asyncio.AbstractEventLoop,
) -> None:
    """With the main loop blocked, probes are still answered; once a beat asked of it has gone
    ungiven past `stall_after`, the answer is 503 `stalled`, and 200 again once it runs."""
    port = free_port()
    listener = HealthListener("127.0.0.1", port, lambda: {"status": "ok"}, stall_after=0.2)
    started_on(main_loop, listener)
    release = threading.Event()
    try:
        main_loop.call_soon_threadsafe(release.wait, 30)  # the loop runs nothing else until set
        assert status_and_body(probe(port))[0] == 200  # asks the beat the loop cannot give
        stalled = wait_until(
            lambda: (answer := status_and_body(probe(port)))[0] == 503 and answer,
            what="a stalled answer",
        )
        assert stalled[1]["status"] == "stalled"
        release.set()
        wait_until(lambda: status_and_body(probe(port))[0] == 200, what="ok again")
    finally:
        release.set()
        listener.stop()


def test_a_report_that_raises_is_answered_503() -> None:
    """A report that raises makes the answer 503 with status `error` (the fault is logged)."""

    def broken() -> dict[str, Any]:
        raise RuntimeError("store gone")

    port = free_port()
    listener = HealthListener("127.0.0.1", port, broken)
    listener.start()
    try:
        status, body = status_and_body(probe(port))
    finally:
        listener.stop()
    assert status == 503
    assert body["status"] == "error"
    assert "store gone" in body["error"]


def test_a_slow_or_oversized_request_is_closed_unanswered_without_holding_others() -> None:
    """A connection that never finishes its request does not delay another probe; one that
    sends more than a request's worth is closed without an answer."""
    port = free_port()
    listener = HealthListener("127.0.0.1", port, lambda: {"status": "ok"})
    listener.start()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as slow:
            slow.sendall(b"GET / HTTP/1.1\r\n")  # and nothing more
            assert status_and_body(probe(port))[0] == 200
        assert probe(port, b"GET / HTTP/1.1\r\nX: " + b"a" * 20_000) == b""
    finally:
        listener.stop()


def test_a_port_held_by_another_program_is_a_config_error() -> None:
    """A port another socket holds (without SO_REUSEPORT) fails start with a ConfigError."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(ConfigError, match=f"health_port: cannot listen on 127.0.0.1:{port}"):
            HealthListener("127.0.0.1", port, lambda: {"status": "ok"}).start()
