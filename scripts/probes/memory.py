"""Worker memory before, at the peak of, and 10 s after bursts of big bodies and many connections.

One `strangler serve` of the worked example (one worker, defaults). The worker's resident memory
(VmRSS) is read before anything, then through each burst (its peak), and 10 s after the last:

1. **Big bodies**: three rounds of 60 connections at once, each posting a 9 MB JSON body to
   `/batch-predict` (legacy, through the WSGI bridge) and 60 more to `/predict` (set to
   migrated for the probe).
2. **Many connections**: 1,000 connections each post a 100-row batch for 5 s (the overload).

What 10 s after keeps of the peak is what the worker does not give back. `MALLOC_ARENA_MAX` in
the environment of `scripts/hostile` is passed on to the server (to compare glibc's arenas).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import httpx
from probes._common import ROW, rss_kib, serve_example, server_pid

BIG = 9 * 2**20
ROUNDS = 3
AT_ONCE = 60
CONNECTIONS = 1_000
OVERLOAD_SECONDS = 5.0
SETTLE = 10.0


class Sampler:
    """The worker's RSS, read every 20 ms while a burst runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = rss_kib(pid)
        self._done = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            await asyncio.sleep(0.02)

    async def __aenter__(self) -> Sampler:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *_: object) -> None:
        self._done.set()
        assert self._task is not None
        await self._task


def _request(path: str, token: str, body: bytes) -> bytes:
    return (
        b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
        % (path.encode(), token.encode(), len(body))
    ) + body


async def _post(port: int, request: bytes) -> str:
    """Sends one request on a fresh connection; the status it got, or what went wrong."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return "refused"
    try:
        writer.write(request)
        await asyncio.wait_for(writer.drain(), 60)
        line = await asyncio.wait_for(reader.readline(), 60)
        return line[9:12].decode(errors="replace") or "none"
    except (OSError, TimeoutError):
        return "error"
    finally:
        writer.close()


async def big_bodies(port: int, token: str, pid: int) -> dict:
    # Valid JSON, all of it read and parsed by the app: a 9 MB string beside the samples.
    padding = b"a" * (BIG - 64)
    legacy = _request("/batch-predict", token, b'{"samples": [], "pad": "%s"}' % padding)
    migrated = _request("/predict", token, b'{"features": [], "pad": "%s"}' % padding)
    statuses: dict[str, int] = {}
    async with Sampler(pid) as sampler:
        for _ in range(ROUNDS):
            found = await asyncio.gather(
                *(_post(port, legacy) for _ in range(AT_ONCE)),
                *(_post(port, migrated) for _ in range(AT_ONCE)),
            )
            for status in found:
                statuses[status] = statuses.get(status, 0) + 1
    return {"peak_mib": round(sampler.peak / 1024, 1), "statuses": statuses}


async def many_connections(port: int, token: str, pid: int) -> dict:
    request = _request("/batch-predict", token, json.dumps({"samples": [ROW] * 100}).encode())
    request = request.replace(b"Connection: close\r\n", b"")
    stop = time.monotonic() + OVERLOAD_SECONDS
    statuses: dict[str, int] = {}

    async def client() -> None:
        while time.monotonic() < stop:
            status = await _post(port, request)
            statuses[status] = statuses.get(status, 0) + 1
            if status in ("refused", "error"):
                await asyncio.sleep(0.05)

    async with Sampler(pid) as sampler:
        await asyncio.gather(*(client() for _ in range(CONNECTIONS)))
    return {"peak_mib": round(sampler.peak / 1024, 1), "statuses": statuses}


async def _measure(url: str, port: int) -> dict:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        login = {"username": "admin", "password": "password"}
        token = (await client.post("/login", json=login)).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        flag = {"endpoint": "POST /predict", "mode": "migrated", "reason": "memory probe"}
        (await client.post("/_strangler/flags", json=flag)).raise_for_status()
        for _ in range(20):  # warm: the model loaded, both apps answered once
            await client.post("/batch-predict", json={"samples": [ROW]}, headers=auth)
            await client.post("/predict", json={"features": ROW}, headers=auth)
    pid = server_pid(port)
    figures: dict[str, object] = {"rss_before_mib": round(rss_kib(pid) / 1024, 1)}
    figures["big_bodies"] = await big_bodies(port, token, pid)
    figures["rss_after_big_bodies_mib"] = round(rss_kib(pid) / 1024, 1)
    figures["many_connections"] = await many_connections(port, token, pid)
    settled = time.monotonic() + SETTLE
    await asyncio.sleep(SETTLE)
    assert time.monotonic() >= settled
    figures["rss_10s_after_mib"] = round(rss_kib(pid) / 1024, 1)
    return figures


def run(work: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")}
    with serve_example(work, env=env) as (url, port):
        figures = asyncio.run(_measure(url, port))
    figures["environment"] = env
    return figures
