"""Health under overload (#22): a real `strangler serve` flooded, and a probe that still answers.

Under a flood the server's event loop serves every busy connection once between two looks at a
new one, so a probe on a fresh connection to the main port waits turns of seconds; the health
port (`health_port`, strangler/serving/health.py) answers from a socket and a thread of its own.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import REPO, free_port, running

pytestmark = pytest.mark.server

STRANGLER = str(Path(sys.executable).parent / "strangler")
CONNECTIONS = 1000
FLOOD_SECONDS = 8.0
BOUND = 2.0  # seconds: a load balancer's usual probe timeout (the listener answers in ~50 ms)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[int, int]]:
    """The stream pair behind `strangler serve` with its default limits and a health port;
    yields the main port and the health port."""
    config = tmp_path / "strangler.toml"
    config.write_text(
        'legacy = "tests.test_apps.stream_pair:legacy"\n'
        'migrated = "tests.test_apps.stream_pair:migrated"\n'
        'flags = "memory:"\n'
    )
    port, health_port = free_port(), free_port()
    argv = ["taskset", "-c", "0", STRANGLER, "serve", "--config", str(config)]
    argv += ["--port", str(port), "--no-access-log"]
    env = {"STRANGLER_DEV": "1", "STRANGLER_HEALTH_PORT": str(health_port)}
    with running(argv, port=port, ready_path="/_strangler/health", env=env, timeout=60):
        yield port, health_port


def probe(port: int) -> tuple[int | str, float]:
    """One probe as a load balancer makes it: connect, ask, read the status line; its outcome
    (the status, or "no answer") and the seconds from connect to the status line."""
    began = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=BOUND * 3) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            head = sock.recv(64)
        outcome: int | str = int(head.split()[1]) if head else "no answer"
    except OSError:
        outcome = "no answer"
    return outcome, time.monotonic() - began


def test_the_health_port_answers_fresh_connections_in_time_under_a_flood(
    server: tuple[int, int],
) -> None:
    """While 1,000 connections post to a legacy endpoint that computes for 20 ms, without pause
    (most are shed), a probe on a fresh
    connection to the health port, measured from connect to its status line, is answered 200
    within 2 s, every one of them."""
    port, health_port = server
    argv = ["taskset", "-c", "1", sys.executable, "-m", "tests.support.flood", str(port)]
    argv += [str(CONNECTIONS), str(FLOOD_SECONDS), "/spin?ms=20"]
    flood = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert flood.stdout is not None
    try:
        started = flood.stdout.readline()  # every connection open (or the flood over)
        assert started == "flooding\n", f"the flood did not get its connections: {started!r}"
        probes = []
        while flood.poll() is None and len(probes) < 30:
            probes.append(probe(health_port))
            time.sleep(0.1)
        output, _ = flood.communicate(timeout=FLOOD_SECONDS + 30)
    finally:
        flood.kill()
        flood.wait()
    statuses = {int(k): v for k, v in json.loads(output).items()}
    assert statuses.get(503, 0) > statuses.get(200, 0), f"the flood did not overload: {statuses}"
    assert len(probes) >= 10, probes
    late = [(outcome, round(took, 2)) for outcome, took in probes if outcome != 200 or took > BOUND]
    assert not late, f"{len(late)} of {len(probes)} probes failed or were late: {late}"
