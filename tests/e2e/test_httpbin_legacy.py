"""The legacy path under an app nobody here wrote: httpbin behind a real gateway server (#12).

httpbin's /drip is a slow stream that declares its Content-Length, /delay/N waits as a database
call does, /get is cheap. The gateway serves them with its default settings: nobody told it
which kind of app this is.
"""

from __future__ import annotations

import concurrent.futures
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.servers import free_port, running

pytestmark = pytest.mark.server

CONFIG = Path(__file__).parents[1] / "test_apps" / "httpbin_pair" / "strangler.toml"


def serve(port: int, *options: str) -> list[str]:
    strangler = str(Path(sys.executable).parent / "strangler")
    return [strangler, "serve", "--config", str(CONFIG), "--port", str(port), *options]


@pytest.fixture(scope="module")
def gateway() -> Iterator[tuple[str, int]]:
    port = free_port()
    with running(serve(port, "--no-access-log"), port=port, ready_path="/get") as url:
        yield url, port


def request(port: int, path: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
    return sock


def test_a_stream_declaring_a_small_length_arrives_as_it_is_produced(
    gateway: tuple[str, int],
) -> None:
    """/drip yields 5 bytes over 2 s with Content-Length: 5: the first byte comes at once."""
    _, port = gateway
    began = time.monotonic()
    with request(port, "/drip?duration=2&numbytes=5") as sock:
        data = b""
        while b"\r\n\r\n" not in data or data.endswith(b"\r\n\r\n"):
            data += sock.recv(4096)
        first = time.monotonic() - began
        head, _, body = data.partition(b"\r\n\r\n")
        while len(body) < 5:
            body += sock.recv(4096)
    assert b"content-length: 5" in head.lower()
    assert first < 0.3  # a bridge that buffered the declared length answered after 2 s
    assert body == b"*****"
    assert time.monotonic() - began > 1.2


def test_abandoned_slow_streams_leave_fresh_clients_answered_within_1s(
    gateway: tuple[str, int],
) -> None:
    """40 clients start a 10 s /drip and leave: a fresh client is answered within 1 s, and the
    streams' threads are freed at their next byte (a second later all are gone)."""
    url, port = gateway
    socks = [request(port, "/drip?duration=10&numbytes=10") for _ in range(40)]
    for sock in socks:  # every stream under way: its head has come (a thread holds it)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            assert chunk, "a /drip stream closed before its head"
            head += chunk
    for sock in socks:
        sock.close()
    began = time.monotonic()
    assert httpx.get(url + "/get", timeout=5).status_code == 200
    assert time.monotonic() - began < 1.0
    time.sleep(1.5)  # each stream writes its next byte within 1 s, sees the client gone, stops
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: httpx.get(url + "/get", timeout=5), range(8)))
    assert all(a.status_code == 200 for a in answers)


def test_an_io_bound_app_is_served_concurrently_with_no_setting(gateway: tuple[str, int]) -> None:
    """48 requests that each wait 0.5 s: four threads would take 6 s; the pool grows instead
    (under 3 s on a quiet machine, 3.6 s with both cores busy: it grows on idle CPU, slower)."""
    url, _ = gateway
    began = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(48) as pool:
        answers = list(pool.map(lambda _: httpx.get(url + "/delay/0.5", timeout=15), range(48)))
    took = time.monotonic() - began
    assert [a.status_code for a in answers] == [200] * 48
    assert took < 5.0  # four threads need 6 s at least: more of them served


def test_legacy_threads_pins_the_pool() -> None:
    """`legacy_threads = 2` is a pin: 8 requests waiting 0.3 s each take 4 turns, >= 1.2 s."""
    port = free_port()
    argv = serve(port, "--no-access-log")
    env = {"STRANGLER_LEGACY_THREADS": "2"}
    with running(argv, port=port, ready_path="/get", env=env) as url:
        began = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: httpx.get(url + "/delay/0.3", timeout=15), range(8)))
        took = time.monotonic() - began
    assert [a.status_code for a in answers] == [200] * 8
    assert took >= 1.2
