"""A real redis-server for tests, on a free loopback port, stopped after (Debian's package;
scripts/setup installs it). Where it cannot be had, the tests that need it skip and say why."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import free_port


@contextlib.contextmanager
def redis_server(folder: Path, port: int | None = None, *, persist: bool = False) -> Iterator[str]:
    """Runs redis-server in `folder` and yields its URL; skips the test if there is none.
    `persist`: every write to an append-only file in `folder`, so a restart keeps the data."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (scripts/setup installs it with apt-get)")
    port = port or free_port()
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(folder)]
    argv += (
        ["--appendonly", "yes", "--appendfsync", "always"] if persist else ["--appendonly", "no"]
    )
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        import redis

        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"redis-server did not start on port {port}") from None
                time.sleep(0.05)
        client.close()
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def listeners(url: str) -> int:
    """How many subscriptions the Redis at `url` holds: each flag watcher listening for pushed
    changes holds one, so a test waits for them before making a change that must be heard."""
    import redis

    with redis.Redis.from_url(url) as client:
        channels = client.pubsub_channels()
        return sum(count for _, count in client.pubsub_numsub(*channels)) if channels else 0
