"""Stopping a real `strangler serve` (#22): a bounded drain, and new requests refused during it.

Each test opens a 60 s stream, sends SIGTERM to the serve process (as an orchestrator does:
to it alone, not its group), and watches what a client sees.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.servers import REPO, free_port
from tests.support.waiting import wait_until

pytestmark = pytest.mark.server

STRANGLER = str(Path(sys.executable).parent / "strangler")
DRAIN = 2  # the drain_timeout these servers are given
MARGIN = 8.0  # what a stopping server may take beyond it on a busy machine (its lifespan, exit)


@contextlib.contextmanager
def serving(
    tmp_path: Path, *, workers: int = 1, drain: float = DRAIN
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """The stream pair behind `strangler serve` with drain_timeout = `drain`; yields the serve
    process and its port. Whatever is left of its process group is killed on exit."""
    config = tmp_path / "strangler.toml"
    config.write_text(
        'legacy = "tests.test_apps.stream_pair:legacy"\n'
        'migrated = "tests.test_apps.stream_pair:migrated"\n'
        f'flags = "{tmp_path / "flags.db"}"\n'
        f"drain_timeout = {drain}\n"
    )
    port = free_port()
    argv = [STRANGLER, "serve", "--config", str(config), "--port", str(port)]
    argv += ["--workers", str(workers), "--no-access-log"]
    with open(tmp_path / "serve.log", "wb") as log:
        proc = subprocess.Popen(
            argv,
            cwd=REPO,
            env={**os.environ, "STRANGLER_DEV": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_until(lambda: proc.poll() is not None or answers(port) == 200, within=60)
            if proc.poll() is not None:
                output = (tmp_path / "serve.log").read_text(errors="replace")
                pytest.fail(f"strangler serve exited with {proc.returncode}:\n{output}")
            yield proc, port
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def answers(port: int) -> int | str:
    """A health request on a fresh connection: its status, "refused" (at connect, or the
    connection reset or closed unanswered), or "hung" (no answer within a second)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"GET /_strangler/health HTTP/1.1\r\nHost: x\r\n\r\n")
            head = sock.recv(64)
    except (ConnectionRefusedError, ConnectionResetError):
        return "refused"
    except TimeoutError:
        return "hung"
    return int(head.split()[1]) if head else "refused"


class Stream:
    """A 60 s stream from the server, read in a thread: how much came and how it ended."""

    def __init__(self, port: int, backend: str) -> None:
        self.lines = 0
        self.ended: str | None = None
        url = f"http://127.0.0.1:{port}/stream?seconds=60"
        headers = {"X-Strangler-Force-Backend": backend}
        self._thread = threading.Thread(target=self._read, args=(url, headers), daemon=True)
        self._thread.start()

    def _read(self, url: str, headers: dict[str, str]) -> None:
        try:
            with httpx.stream("GET", url, headers=headers, timeout=90) as response:
                for _ in response.iter_lines():
                    self.lines += 1
            self.ended = "complete"
        except httpx.HTTPError as exc:
            self.ended = f"cut: {exc!r}"


@pytest.mark.parametrize("backend", ["legacy", "migrated"])
def test_sigterm_with_a_stream_open_exits_within_the_drain_timeout(
    tmp_path: Path, backend: str
) -> None:
    """SIGTERM with a 60 s stream open: the server exits within drain_timeout (plus a margin
    for its shutdown), the stream cut, not waited for."""
    with serving(tmp_path) as (proc, port):
        stream = Stream(port, backend)
        wait_until(lambda: stream.lines >= 2, what="the stream's first lines")
        stopped = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=DRAIN + MARGIN)
        took = time.monotonic() - stopped
        wait_until(lambda: stream.ended, what="the client to see the stream end")
    assert took >= DRAIN * 0.9, f"exited after {took:.1f} s: the stream was not given its drain"
    assert stream.ended.startswith("cut"), stream.ended


@pytest.mark.parametrize("workers", [1, 2])
def test_a_request_sent_during_the_drain_is_refused_at_once(tmp_path: Path, workers: int) -> None:
    """While a stopping server drains a stream, a new request is refused (at connect, or
    closed unanswered) within a second, instead of waiting for the drain to end."""
    # A long drain, so that the refusal is seen while it lasts even when SIGTERM takes seconds
    # to reach the workers on a busy machine; the test does not wait for its end (the group is
    # killed).
    drain = 30
    with serving(tmp_path, workers=workers, drain=drain) as (proc, port):
        streams = [Stream(port, "legacy") for _ in range(workers * 2)]  # one on each worker
        wait_until(lambda: all(s.lines >= 2 for s in streams), what="the streams' first lines")
        proc.send_signal(signal.SIGTERM)
        seen: list[int | str] = []
        wait_until(lambda: seen.append(answers(port)) or seen[-1] == "refused", within=drain)
        assert proc.poll() is None, "the server had already exited: the refusal was not a drain's"
    assert "hung" not in seen, seen
