"""How many failed answers clients get before the guard sends a port that breaks back to legacy.

One `strangler serve` of the worked example whose migrated app is wrapped to fail (raise) on a
share of its requests once a file exists, with the guard on `POST /predict` and `GET
/model-info` (both on migrated). A steady load of both (LOAD_RATE requests a second, pinned to
CPU 1) runs GOOD_SECONDS healthy, then the file appears (BREAK of the port's answers fail) and
the load goes on until both endpoints are back on legacy, at most BROKEN_SECONDS. Reported per
endpoint: seconds from the break to the guard's flag change, the answers clients got as 5xx
(and those without the backend header), connections dropped without an answer, and the answers
migrated failed that legacy gave instead.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import httpx
from probes._common import LOAD_CPU, ROW, serve_example

GOOD_SECONDS = 45.0
BROKEN_SECONDS = 40.0
LOAD_RATE = 20.0  # requests a second, half to each endpoint
BREAK = 0.2
ENDPOINTS = ("POST /predict", "GET /model-info")

WRAPPER = """
import os, random
from migrated.app import app

BREAK_FILE, SHARE = os.environ["PROBE_BREAK_FILE"], float(os.environ["PROBE_BREAK_SHARE"])


class Break:
    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and os.path.exists(BREAK_FILE) and random.random() < SHARE:
            raise RuntimeError("the port broke")
        await self.inner(scope, receive, send)


app.add_middleware(Break)
"""


def run(work: Path) -> dict:
    (work / "breakable.py").write_text(WRAPPER)
    config = work / "strangler.toml"
    config.write_text(
        'legacy = "legacy.app:app"\n'
        'migrated = "breakable:app"\n'
        'sticky = "jwt:user"\n'
        'guard = ["POST /predict", "GET /model-info"]\n'
    )
    broken = work / "broken"
    env = {"PROBE_BREAK_FILE": str(broken), "PROBE_BREAK_SHARE": str(BREAK)}
    with serve_example(work, "--config", str(config), env=env) as (url, _port):
        for key in ENDPOINTS:  # the admin API, open under --dev
            change = {"endpoint": key, "mode": "migrated", "reason": "probe: on migrated"}
            answer = httpx.post(f"{url}/_strangler/flags", json=change, timeout=30)
            assert answer.status_code == 200, answer.text
        os.sched_setaffinity(0, {int(LOAD_CPU)})
        return asyncio.run(_load(url, broken, work))


async def _load(url: str, broken: Path, work: Path) -> dict:
    seen: dict[str, dict[str, float]] = {
        key: {"5xx": 0, "5xx_unmarked": 0, "no_answer": 0, "retried_on_legacy": 0, "after_break": 0}
        for key in ENDPOINTS
    }
    tripped: dict[str, float] = {}
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        login = await client.post("/login", json={"username": "admin", "password": "password"})
        auth = {"Authorization": f"Bearer {login.json()['token']}"}
        started = time.monotonic()
        broke_at: float | None = None
        sent = 0
        while True:
            now = time.monotonic()
            if broke_at is None and now - started >= GOOD_SECONDS:
                broken.touch()  # noqa: ASYNC240 -- once, and the moment is what counts
                broke_at = now
            if broke_at is not None and (
                len(tripped) == len(ENDPOINTS) or now - broke_at > BROKEN_SECONDS
            ):
                break
            key = ENDPOINTS[sent % 2]
            sent += 1
            try:
                if key == "POST /predict":
                    answer = await client.post("/predict", json={"features": ROW}, headers=auth)
                else:
                    answer = await client.get("/model-info")
            except httpx.TransportError:  # the connection dropped: no answer at all
                answer = None
            backend = answer.headers.get("x-strangler-backend") if answer is not None else None
            if broke_at is not None and key not in tripped:
                figures = seen[key]
                figures["after_break"] += 1
                if answer is None:
                    figures["no_answer"] += 1
                elif answer.status_code >= 500:
                    figures["5xx"] += 1
                    figures["5xx_unmarked"] += backend is None
                elif backend == "legacy":
                    figures["retried_on_legacy"] += 1
                if sent % 4 < 2 and await _on_legacy(client, key):  # every other request
                    tripped[key] = time.monotonic() - broke_at
            await asyncio.sleep(max(0.0, started + sent / LOAD_RATE - time.monotonic()))
    for key in ENDPOINTS:
        seen[key]["seconds_to_trip"] = round(tripped[key], 1) if key in tripped else -1
    return {"break": f"{BREAK:.0%} of migrated answers raise", "good_seconds": GOOD_SECONDS, **seen}


async def _on_legacy(client: httpx.AsyncClient, key: str) -> bool:
    """Whether the guard moved the endpoint's flag to legacy (the admin API, --dev)."""
    try:
        flags = (await client.get("/_strangler/flags")).json()
    except httpx.TransportError:  # a connection the server closed after a failed answer
        return False
    entry = flags.get("flags", flags).get(key) if isinstance(flags, dict) else None
    mode = entry.get("mode") if isinstance(entry, dict) else entry
    return mode == "legacy"
