"""The legacy path under an app nobody here wrote: httpbin, run by `scripts/bench` after the
worked example (or alone: `scripts/bench --suites httpbin`).

Three servers of httpbin, each pinned to CPU 0, driven by wrk (or a small client) on CPU 1:

    gunicorn-sync     one sync worker: what a Flask service often runs today
    gunicorn-gthread  one gthread worker with 32 threads: the usual answer to an I/O-bound app
    gateway           the gateway, httpbin as legacy (every endpoint on it), default settings

Rows: /get (cheap) at c=1 and c=32; /delay/0.02 (a 20 ms wait, as a database call) at c=64; a
slow stream (/drip: 10 bytes over 1 s, Content-Length declared), time to its first byte; and 40
slow streams abandoned at once, then how long a fresh client waits for /get.
"""

from __future__ import annotations

import socket
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench_table import medians_of, print_rows  # noqa: E402

from tests.support.servers import free_port, running  # noqa: E402

SERVERS = ("gunicorn-sync", "gunicorn-gthread", "gateway")
CONFIG = REPO / "tests" / "test_apps" / "httpbin_pair" / "strangler.toml"
PATHS = {"get": "/get", "delay-20ms": "/delay/0.02"}
ABANDONED = 40

Check = tuple[str, float, str, bool]
Row = dict[str, float]


@contextmanager
def servers(pin: list[str]) -> Iterator[dict[str, str]]:
    """Starts the three httpbin servers and yields their base URLs."""
    venv_bin = Path(sys.executable).parent
    ports = {name: free_port() for name in SERVERS}
    gunicorn = [str(venv_bin / "gunicorn"), "-w", "1", "--log-level", "warning"]
    argv = {
        "gunicorn-sync": [*gunicorn, "-k", "sync", "-b", f"127.0.0.1:{ports['gunicorn-sync']}"],
        "gunicorn-gthread": [
            *gunicorn,
            "-k",
            "gthread",
            "--threads",
            "32",
            "-b",
            f"127.0.0.1:{ports['gunicorn-gthread']}",
        ],
        "gateway": [
            str(venv_bin / "strangler"),
            "serve",
            "--config",
            str(CONFIG),
            "--port",
            str(ports["gateway"]),
            "--no-access-log",
        ],
    }
    argv["gunicorn-sync"].append("httpbin:app")
    argv["gunicorn-gthread"].append("httpbin:app")
    with ExitStack() as stack:
        yield {
            name: stack.enter_context(
                running(pin + command, port=ports[name], ready_path="/get", timeout=60)
            )
            for name, command in argv.items()
        }


def first_byte_after(url: str, path: str) -> tuple[float, float]:
    """Seconds to the first body byte of `path`, and to its end (HTTP/1.1, Content-Length)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=15) as sock:
        began = time.perf_counter()
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
        data = b""
        while b"\r\n\r\n" not in data or data.endswith(b"\r\n\r\n"):
            data += sock.recv(65536)
        first = time.perf_counter() - began
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        return first, time.perf_counter() - began


def abandon_streams(url: str, count: int, path: str) -> float:
    """Opens `count` slow streams, drops them once they started, and returns how long a fresh
    client then waits for /get (at most 15 s: then 15 is returned)."""
    host, port = url.removeprefix("http://").split(":")
    socks = []
    for _ in range(count):
        sock = socket.create_connection((host, int(port)), timeout=15)
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
        socks.append(sock)
    time.sleep(0.3)  # the streams start (or queue)
    for sock in socks:
        sock.close()
    time.sleep(0.1)
    began = time.perf_counter()
    try:
        with socket.create_connection((host, int(port)), timeout=15) as sock:
            sock.sendall(b"GET /get HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            sock.recv(1)
    except TimeoutError:
        return 15.0
    return time.perf_counter() - began


def run(
    pin: list[str],
    measure: Callable[[str, str, int, int], Row],
    rounds: int,
    seconds: int,
) -> tuple[dict[tuple[str, str, int], Row], list[Check]]:
    """Measures every row, prints the table, and returns the medians and the ratio checks."""
    samples: dict[tuple[str, str, int], list[Row]] = {}
    streams: dict[str, list[tuple[float, float]]] = {name: [] for name in SERVERS}
    waits: dict[str, list[float]] = {name: [] for name in SERVERS}
    rows = [("get", 1), ("get", 32), ("delay-20ms", 64)]
    with servers(pin) as urls:
        for url in urls.values():  # warm up, at each row's concurrency: a pool in steady state
            for endpoint, connections in rows:
                measure(url, PATHS[endpoint], connections, 1)
        for _ in range(rounds):
            for endpoint, connections in rows:
                for name, url in urls.items():
                    result = measure(url, PATHS[endpoint], connections, seconds)
                    samples.setdefault((name, endpoint, connections), []).append(result)
            for name, url in urls.items():
                streams[name].append(first_byte_after(url, "/drip?duration=1&numbytes=10"))
        # Last, once per server: the sync worker needs a second per abandoned stream to notice.
        for name, url in urls.items():
            waits[name].append(abandon_streams(url, ABANDONED, "/drip?duration=10&numbytes=10"))
            time.sleep(1.5)  # the abandoned streams end at their next byte

    medians = medians_of(samples)
    title = f"httpbin as legacy: medians of {rounds} round(s) x {seconds}s"
    print_rows(title, SERVERS, rows, medians)
    first = {name: statistics.median(f for f, _ in streams[name]) for name in SERVERS}
    total = {name: statistics.median(t for _, t in streams[name]) for name in SERVERS}
    print(
        f"{'drip 10B/1s':<14}{'':>4}  "
        + "".join(f"{f'first {first[n] * 1000:.0f} ms, all {total[n]:.2f} s':>24}" for n in SERVERS)
    )
    print(
        f"{'fresh /get':<14}{'':>4}  "
        + "".join(f"{f'{waits[n][0]:.3f} s':>24}" for n in SERVERS)
        + f"   (after {ABANDONED} abandoned /drip streams)"
    )

    def ratio(a: str, b: str, endpoint: str, c: int, field: str) -> float:
        return medians[(a, endpoint, c)][field] / medians[(b, endpoint, c)][field]

    checks: list[Check] = []
    r = ratio("gateway", "gunicorn-sync", "get", 1, "rps")
    checks.append(("httpbin gateway / gunicorn sync req/s c=1 /get", r, ">= 1.0", r >= 1.0))
    r = ratio("gateway", "gunicorn-sync", "get", 32, "rps")
    checks.append(("httpbin gateway / gunicorn sync req/s c=32 /get", r, "(info)", True))
    r = ratio("gateway", "gunicorn-gthread", "delay-20ms", 64, "rps")
    checks.append(("httpbin gateway / gthread-32 req/s c=64 20ms wait", r, ">= 0.9", r >= 0.9))
    r = ratio("gateway", "gunicorn-gthread", "delay-20ms", 64, "p99_ms")
    checks.append(("httpbin gateway / gthread-32 p99 c=64 20ms wait", r, "<= 1.5", r <= 1.5))
    checks.append(
        (
            "httpbin gateway drip: first byte (ms)",
            first["gateway"] * 1000,
            "< 100",
            first["gateway"] < 0.1,
        )
    )
    wait = waits["gateway"][0]
    checks.append(
        (f"httpbin gateway fresh /get after {ABANDONED} abandoned (s)", wait, "< 1", wait < 1)
    )
    return medians, checks
