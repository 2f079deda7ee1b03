"""Wrong admin credentials a client may try per second: on the dashboard's login form, and as a
token on the admin API.

One client (four connections) tries wrong tokens for SECONDS on each, the form first; reported:
the tries the gateway checked (answered 401: a guess it compared), those it refused unchecked
(429), and the checked ones per second. Both count against one allowance per client (ten a
minute), so the API's phase starts with the form's spent. Also whether a one-character
STRANGLER_ADMIN_TOKEN is refused at start (outside development mode).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from probes._common import free_port, serve_example

TOKEN = "probe-admin-token-0123456789"
SECONDS = 3.0
CONNECTIONS = 4


async def _tries(url: str, path: str, send: str) -> dict:
    statuses: dict[int, int] = {}
    stop = time.monotonic() + SECONDS
    began = time.monotonic()

    async def one(client: httpx.AsyncClient, number: int) -> None:
        guess = 0
        while time.monotonic() < stop:
            guess += 1
            wrong = f"guess-{number}-{guess}"
            if send == "form":
                answer = await client.post(url + path, data={"token": wrong})
            else:
                answer = await client.get(url + path, headers={"Authorization": f"Bearer {wrong}"})
            statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1

    limits = httpx.Limits(max_connections=CONNECTIONS)
    async with httpx.AsyncClient(timeout=10, limits=limits) as client:
        await asyncio.gather(*(one(client, n) for n in range(CONNECTIONS)))
    elapsed = time.monotonic() - began
    checked = statuses.get(401, 0)
    return {
        "statuses": statuses,
        "checked_per_s": round(checked / elapsed, 1),
        "refused_unchecked": statuses.get(429, 0),
    }


def _weak_token_start(work: Path) -> str:
    """What `strangler serve` does with STRANGLER_ADMIN_TOKEN=a (not in development mode): exits
    with a message, or starts (then it is stopped)."""
    port = free_port()
    strangler = str(Path(sys.executable).parent / "strangler")
    argv = [strangler, "serve", "--port", str(port), "--flags", f"{work}/weak.db"]
    env = {**os.environ, "STRANGLER_ADMIN_TOKEN": "a"}
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                httpx.get(f"http://127.0.0.1:{port}/_strangler/health", timeout=1)
                return "started"
            except httpx.HTTPError:
                time.sleep(0.2)
        if proc.poll() is None:
            return "neither started nor exited in 60 s"
        said = (proc.stdout.read() if proc.stdout else b"").decode(errors="replace")
        lines = said.strip().splitlines()
        return f"refused (exit {proc.returncode}): {lines[-1] if lines else ''}"[:240]
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(10)


def run(work: Path) -> dict:
    with serve_example(work, env={"STRANGLER_ADMIN_TOKEN": TOKEN}) as (url, _):
        figures = {
            "dashboard_login": asyncio.run(_tries(url, "/_strangler/ui/login", "form")),
            "api_token": asyncio.run(_tries(url, "/_strangler/flags", "header")),
        }
    figures["weak_token_at_start"] = _weak_token_start(work)
    return figures
