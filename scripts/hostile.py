"""Measures the gateway under hostile load, with its default limits, and prints the figures.

Run as `scripts/hostile`. One `strangler serve` of the worked example (one worker, defaults),
pinned to CPU 0; the attackers run here, pinned to CPU 1. Three measurements, each bounded in
time:

1. **Huge headers**: ten connections each try to send a 50 MB header; the server's resident
   memory (VmRSS) is sampled before, at its peak during, and after.
2. **Slow sockets**: up to N sockets (default 19,000: the machine's file limit is 20,000) each
   send half a request line and then a byte every 5 s, reconnecting when dropped; meanwhile a
   fresh client asks /health every 100 ms. Reported: sockets opened and dropped by the server,
   the most open at once, and the fresh client's latencies and failures.
3. **Overload**: 1,000 connections post to /batch-predict (100 rows) for 10 s; reported: how
   many answers were 200, 503 and other, and p50/p99 of the 200s. Meanwhile a prober (a process
   of its own, so the attackers' event loop does not delay it) opens a fresh connection every
   100 ms and asks the main port's /_strangler/health and /health and the health port
   (`health_port`, strangler/serving/health.py), as a load balancer would; reported for each:
   p50/p99/max from connect to the answer's last byte, and failures (no 200 in 5 s).

Then each probe in scripts/probes/ (one module per attack: its docstring says what it measures;
`run(work)` starts the servers it needs, bounded in time, and returns its figures). `--only`
picks some of all these by name.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import importlib
import json
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from probes._common import (
    LOAD_CPU,
    ROW,
    free_port,
    p99,
    rss_kib,
    serve_example,
    server_pid,
)

PROBES = Path(__file__).resolve().parent / "probes"


async def huge_headers(port: int, pid: int, attempts: int = 10, size: int = 50 * 2**20) -> dict:
    before = rss_kib(pid)
    peak = before
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_kib(pid))
            await asyncio.sleep(0.02)

    async def attack() -> str:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Huge: ")
        chunk = b"a" * 65536
        sent = 0
        try:
            while sent < size:
                writer.write(chunk)
                await writer.drain()
                sent += len(chunk)
            writer.write(b"\r\n\r\n")
            await writer.drain()
        except (ConnectionError, OSError):
            pass
        try:
            answer = await asyncio.wait_for(reader.read(100), 5)
        except (TimeoutError, ConnectionError, OSError):
            answer = b""
        writer.close()
        return f"{answer[:12].decode(errors='replace')} after {sent // 2**20} MiB sent"

    sampler = asyncio.create_task(sample())
    outcomes = await asyncio.gather(*(attack() for _ in range(attempts)))
    done.set()
    await sampler
    await asyncio.sleep(1)
    return {
        "rss_before_mib": round(before / 1024, 1),
        "rss_peak_mib": round(peak / 1024, 1),
        "rss_after_mib": round(rss_kib(pid) / 1024, 1),
        "answers": sorted(set(outcomes)),
    }


async def slow_sockets(url: str, port: int, target: int, seconds: float) -> dict:
    stop = time.monotonic() + seconds
    stats = {"opened": 0, "dropped_by_server": 0, "refused": 0, "most_open": 0}
    open_now = 0

    async def one() -> None:
        nonlocal open_now
        while time.monotonic() < stop:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                stats["refused"] += 1
                await asyncio.sleep(1)
                continue
            stats["opened"] += 1
            open_now += 1
            stats["most_open"] = max(stats["most_open"], open_now)
            try:
                writer.write(b"GET /health HTTP/1.1\r\n")
                while time.monotonic() < stop:
                    try:
                        got = await asyncio.wait_for(reader.read(100), 5)
                    except TimeoutError:  # still held: trickle a byte, as slowloris does
                        writer.write(b"X")
                        continue
                    if got or reader.at_eof():  # the server's 408, or its close
                        stats["dropped_by_server"] += 1
                        break
            except OSError:
                stats["dropped_by_server"] += 1
            finally:
                open_now -= 1
                writer.close()

    async def openers() -> None:
        tasks = []
        for _ in range(target):  # ramp up: 1,000 new sockets a second
            tasks.append(asyncio.create_task(one()))
            if len(tasks) % 100 == 0:
                await asyncio.sleep(0.1)
        await asyncio.gather(*tasks, return_exceptions=True)

    latencies: list[float] = []
    failures = 0

    async def fresh() -> None:
        nonlocal failures
        async with httpx.AsyncClient(timeout=5) as client:
            while time.monotonic() < stop:
                began = time.monotonic()
                try:
                    response = await client.get(url + "/health", headers={"Connection": "close"})
                    if response.status_code == 200:
                        latencies.append((time.monotonic() - began) * 1000)
                    else:
                        failures += 1
                except httpx.HTTPError:
                    failures += 1
                await asyncio.sleep(0.1)

    await asyncio.gather(openers(), fresh())
    return {
        **stats,
        "fresh_requests": len(latencies) + failures,
        "fresh_failed": failures,
        "fresh_p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "fresh_p99_ms": round(p99(latencies), 1) if latencies else None,
        "fresh_max_ms": round(max(latencies), 1) if latencies else None,
    }


def probe_health(port: int, path: str, seconds: float, results: object) -> None:
    """Asks for `path` on a fresh connection every 100 ms (or as soon as the last answer came,
    if later) for `seconds`; sends [milliseconds, or None for a failure] through `results`."""
    found: list[float | None] = []
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        began = time.monotonic()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:  # from connect (the accept queue counts) to the answer's last byte
            connection.request("GET", path, headers={"Connection": "close"})
            response = connection.getresponse()
            response.read()
            ok = response.status == 200
        except OSError:
            ok = False
        finally:
            connection.close()
        found.append((time.monotonic() - began) * 1000 if ok else None)
        time.sleep(max(0.0, 0.1 - (time.monotonic() - began)))
    results.send(found)  # type: ignore[attr-defined]


def health_figures(latencies: list[float | None]) -> dict:
    answered = [ms for ms in latencies if ms is not None]
    return {
        "requests": len(latencies),
        "failed": len(latencies) - len(answered),
        "within_1s": sum(ms < 1000 for ms in answered),
        "p50_ms": round(statistics.median(answered), 1) if answered else None,
        "p99_ms": round(p99(answered), 1) if answered else None,
        "max_ms": round(max(answered), 1) if answered else None,
    }


async def overload(
    url: str, token: str, connections: int, seconds: float, health_port: int
) -> dict:
    body = json.dumps({"samples": [ROW] * 100}).encode()
    host = url.split("//", 1)[1]
    request = (
        b"POST /batch-predict HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
        % (host.encode(), token.encode(), len(body), body)
    )
    port = int(host.rsplit(":", 1)[1])
    stop = time.monotonic() + seconds
    statuses: dict[int, int] = {}
    ok_latencies: list[float] = []
    errors = 0

    async def client() -> None:
        nonlocal errors
        reader = writer = None
        while time.monotonic() < stop:
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                began = time.monotonic()
                writer.write(request)
                status_line = await asyncio.wait_for(reader.readline(), 30)
                status = int(status_line.split()[1])
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                statuses[status] = statuses.get(status, 0) + 1
                if status == 200:
                    ok_latencies.append((time.monotonic() - began) * 1000)
            except (OSError, ValueError, IndexError, TimeoutError, asyncio.IncompleteReadError):
                errors += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
                await asyncio.sleep(0.05)
        if writer is not None:
            writer.close()

    # A prober per target, each forked before the attackers' first connection: they share no
    # event loop with the attackers, and a slow answer on one does not delay the others.
    fork = multiprocessing.get_context("fork")
    targets = {
        "main port /_strangler/health": (port, "/_strangler/health"),
        "main port /health": (port, "/health"),
        "health_port": (health_port, "/"),
    }
    probers = {}
    for name, (target_port, path) in targets.items():
        receiving, sending = fork.Pipe(duplex=False)
        prober = fork.Process(target=probe_health, args=(target_port, path, seconds, sending))
        prober.start()
        probers[name] = (prober, receiving)
    await asyncio.gather(*(client() for _ in range(connections)))
    found = {}
    for name, (prober, receiving) in probers.items():
        found[name] = receiving.recv() if receiving.poll(15) else []
        prober.join(5)
    return {
        "connections": connections,
        "seconds": seconds,
        "status_counts": dict(sorted(statuses.items())),
        "connection_errors": errors,
        "ok_p50_ms": round(statistics.median(ok_latencies), 1) if ok_latencies else None,
        "ok_p99_ms": round(p99(ok_latencies), 1) if ok_latencies else None,
        **{f"fresh_health {name}": health_figures(found[name]) for name in targets},
    }


def probe_names() -> list[str]:
    """The probes in scripts/probes/, one module each (a `run(work) -> dict` that starts what it
    needs, bounded in time, and returns its figures)."""
    return sorted(p.stem for p in PROBES.glob("*.py") if not p.name.startswith("_"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slow-sockets", type=int, default=19_000)
    parser.add_argument("--slow-seconds", type=float, default=30.0)
    parser.add_argument("--connections", type=int, default=1_000)
    parser.add_argument("--overload-seconds", type=float, default=10.0)
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated: which to run, of the three above (huge-headers, slow-sockets,"
        f" overload) and the probes in scripts/probes/ ({', '.join(probe_names())}); default all",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    chosen = set(args.only.split(",")) if args.only else None
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    os.sched_setaffinity(0, {int(LOAD_CPU)})
    figures: dict[str, object] = {}

    def wanted(name: str) -> bool:
        return chosen is None or name in chosen

    with tempfile.TemporaryDirectory() as work:
        if any(wanted(n) for n in ("huge-headers", "slow-sockets", "overload")):
            health_port = free_port()
            health = {"STRANGLER_HEALTH_PORT": str(health_port)}
            with serve_example(Path(work), env=health) as (url, port):
                token = httpx.post(
                    url + "/login", json={"username": "admin", "password": "password"}, timeout=60
                ).json()["token"]
                auth = {"Authorization": f"Bearer {token}"}
                httpx.post(
                    url + "/batch-predict", json={"samples": [ROW]}, headers=auth, timeout=120
                )
                pid = server_pid(port)
                if wanted("huge-headers"):
                    print("huge-headers: ten 50 MB header attempts", flush=True)
                    figures["huge_headers"] = asyncio.run(huge_headers(port, pid))
                    print(json.dumps(figures["huge_headers"], indent=2), flush=True)
                if wanted("slow-sockets"):
                    print(f"slow-sockets: {args.slow_sockets} for {args.slow_seconds:g} s")
                    figures["slow_sockets"] = asyncio.run(
                        slow_sockets(url, port, args.slow_sockets, args.slow_seconds)
                    )
                    print(json.dumps(figures["slow_sockets"], indent=2), flush=True)
                    time.sleep(12)  # the server drops what is left of the slow sockets
                if wanted("overload"):
                    print(f"overload: {args.connections} connections on /batch-predict")
                    figures["overload"] = asyncio.run(
                        overload(url, token, args.connections, args.overload_seconds, health_port)
                    )
                    print(json.dumps(figures["overload"], indent=2), flush=True)
                health = httpx.get(url + "/_strangler/health", timeout=5)
                figures["health_after"] = health.json()["status"]
        for name in probe_names():
            if not wanted(name):
                continue
            module = importlib.import_module(f"probes.{name}")
            print(f"{name}: {module.__doc__.splitlines()[0] if module.__doc__ else ''}", flush=True)
            probe_dir = Path(work) / name
            probe_dir.mkdir()
            figures[name] = module.run(probe_dir)
            print(json.dumps(figures[name], indent=2), flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
