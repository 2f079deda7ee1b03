"""Real server processes on 127.0.0.1 for tests: start, wait until they answer, always stop."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """Returns a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running(
    argv: Sequence[str],
    *,
    port: int,
    ready_path: str = "/",
    env: dict[str, str] | None = None,
    timeout: float = 90.0,
    cwd: Path = REPO,
) -> Iterator[str]:
    """Runs `argv` (which must listen on `port`) and yields its base URL once it answers.

    Any HTTP answer on `ready_path` counts as ready, within `timeout` seconds: generous, as a
    server that imports two apps may take tens of seconds to start with both cores busy. The
    process group is stopped with SIGTERM (then SIGKILL) on exit, so multi-worker servers leave
    no children behind. The server's output goes to a temporary file, not a pipe: a pipe nobody
    reads blocks a chatty server for good.
    """
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_until_ready(proc, argv, base_url + ready_path, timeout, log)
            yield base_url
        finally:
            _stop(proc)


def _wait_until_ready(
    proc: subprocess.Popen[bytes], argv: Sequence[str], url: str, timeout: float, log: IO[bytes]
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            log.seek(0)
            output = log.read().decode(errors="replace")
            raise RuntimeError(f"{argv!r} exited with {proc.returncode}:\n{output}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{argv!r} did not answer on {url} in {timeout}s") from None
            time.sleep(0.05)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def uvicorn_argv(app: str, *, port: int, factory: bool = False) -> list[str]:
    """The command line that serves the ASGI app `app` ("module:attr") with uvicorn."""
    argv = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    if factory:
        argv.append("--factory")
    return [*argv, "--log-level", "warning"]
