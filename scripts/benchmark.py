"""The side-by-side benchmark behind `scripts/bench` (see docs/performance.md for figures).

Four servers of the worked example, each pinned to CPU 0 with taskset, driven in turn by wrk
pinned to CPU 1, on loopback:

    gunicorn          legacy Flask app alone on gunicorn, one sync worker (production today)
    gateway-legacy    the gateway, every endpoint on legacy
    gateway-migrated  the gateway, every endpoint on migrated
    uvicorn-migrated  the FastAPI port alone on uvicorn

Rounds alternate the servers for each (endpoint, concurrency), so a noisy neighbour hurts all
alike; the medians of the rounds are reported, with the ratios the performance issue sets.
Each ratio of throughput is shown twice: from req/s, and from the CPU time each request cost
the server (cpu-us: user + system time of the server's processes over the run, per request).
On a core of its own a saturated server's req/s is 1 / its cpu time per request; on a shared
machine req/s also moves with what other tenants take from the core, cpu-us far less.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.servers import free_port, running  # noqa: E402

sys.path.insert(0, str(REPO / "scripts"))
from probes._common import server_pid  # noqa: E402

SERVER_CPU, LOAD_CPU = "0", "1"
FEATURES = [0.5, -1.2, 3.3, 0.0, 2.2, -0.7, 1.1, 4.4, -2.5, 0.9]
ENDPOINTS = ["health", "model-info", "predict-hit", "predict-miss", "batch-100"]
# Where the gateway's own cost shows most (issue 21 sets the tighter ratios on them).
CHEAP = {"health", "model-info", "predict-hit"}

# wrk scripts: each request, and a done() that prints one JSON line wrk's own output lacks.
LUA_DONE = """
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
                 + summary.errors.status + summary.errors.timeout
  io.write(string.format('JSON {"requests": %d, "seconds": %f, "p50_ms": %f, "p99_ms": %f, '
    .. '"errors": %d}\\n', summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors))
end
"""


def lua_for(endpoint: str, token: str) -> str:
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"\n'
    json_type = 'wrk.headers["Content-Type"] = "application/json"\n'
    if endpoint == "health":
        return 'wrk.path = "/health"\n' + LUA_DONE
    if endpoint == "model-info":
        return 'wrk.path = "/model-info"\n' + LUA_DONE
    if endpoint == "predict-hit":
        body = json.dumps({"features": FEATURES})
        return (
            f'wrk.method = "POST"\nwrk.path = "/predict"\nwrk.body = {json.dumps(body)}\n'
            + auth
            + json_type
            + LUA_DONE
        )
    if endpoint == "predict-miss":
        # Distinct features on every request (per-thread seed and counter): always a cache miss.
        return (
            auth
            + json_type
            + """
counter = 0
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
request = function()
  counter = counter + 1
  local f = {}
  for i = 1, 9 do f[i] = string.format("%.6f", math.random() * 4 - 2) end
  f[10] = tostring(counter + math.random())
  local body = '{"features": [' .. table.concat(f, ", ") .. ']}'
  return wrk.format("POST", "/predict", nil, body)
end
"""
            + LUA_DONE
        )
    if endpoint == "batch-100":
        body = json.dumps({"samples": [FEATURES] * 100})
        return (
            f'wrk.method = "POST"\nwrk.path = "/batch-predict"\nwrk.body = {json.dumps(body)}\n'
            + auth
            + json_type
            + LUA_DONE
        )
    raise ValueError(endpoint)


def run_wrk(url: str, script: Path, connections: int, seconds: int) -> dict[str, float]:
    argv = ["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s"]
    argv += ["--timeout", "10s", "-s", str(script), url]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=True)
    line = next(line for line in out.stdout.splitlines() if line.startswith("JSON "))
    result: dict[str, float] = json.loads(line[5:])
    result["rps"] = result["requests"] / result["seconds"]
    return result


def run_fallback(
    url: str, endpoint: str, token: str, connections: int, seconds: float
) -> dict[str, float]:
    """A small asyncio load generator for machines without wrk (it saturates sooner)."""
    import asyncio
    import random

    async def main() -> dict[str, float]:
        latencies: list[float] = []
        errors = 0
        deadline = time.perf_counter() + seconds
        headers = {"Authorization": f"Bearer {token}"}

        async def worker(client: httpx.AsyncClient) -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                if endpoint.startswith("/"):  # a path to GET
                    r = await client.get(endpoint)
                elif endpoint in ("health", "model-info"):
                    r = await client.get("/" + endpoint)
                elif endpoint == "batch-100":
                    r = await client.post(
                        "/batch-predict", json={"samples": [FEATURES] * 100}, headers=headers
                    )
                else:
                    features = (
                        FEATURES
                        if endpoint == "predict-hit"
                        else [random.random() for _ in range(10)]
                    )
                    r = await client.post("/predict", json={"features": features}, headers=headers)
                latencies.append(time.perf_counter() - start)
                errors += r.status_code >= 400

        limits = httpx.Limits(max_connections=connections)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10) as client:
            began = time.perf_counter()
            await asyncio.gather(*(worker(client) for _ in range(connections)))
            took = time.perf_counter() - began
        latencies.sort()
        return {
            "requests": len(latencies),
            "seconds": took,
            "rps": len(latencies) / took,
            "p50_ms": latencies[len(latencies) // 2] * 1000,
            "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
            "errors": errors,
        }

    return asyncio.run(main())


@contextmanager
def servers(
    workdir: Path, legacy_threads: int | None, serve_args: list[str]
) -> Iterator[dict[str, str]]:
    """Starts the four servers on CPU 0 and yields their base URLs."""
    venv_bin = Path(sys.executable).parent
    env = {"ML_BATCH_MAX_WAIT_MS": os.environ.get("ML_BATCH_MAX_WAIT_MS", "0")}
    pin = ["taskset", "-c", SERVER_CPU]
    ports = {
        name: free_port()
        for name in ("gunicorn", "gateway-legacy", "gateway-migrated", "uvicorn-migrated")
    }
    all_migrated = workdir / "migrated.yaml"
    all_migrated.write_text(
        "".join(
            f"{m} {p}: migrated\n"
            for m, p in [
                ("GET", "/health"),
                ("GET", "/model-info"),
                ("POST", "/login"),
                ("POST", "/predict"),
                ("POST", "/batch-predict"),
            ]
        )
    )
    configs = {}
    for name, seed in (("gateway-legacy", None), ("gateway-migrated", all_migrated)):
        config = workdir / f"{name}.toml"
        lines = [
            'legacy = "legacy.app:app"',
            'migrated = "migrated.app:app"',
            f'flags = "{name}.db"',
        ]
        if seed:
            lines.append(f'seed = "{seed}"')
        if legacy_threads:
            lines.append(f"legacy_threads = {legacy_threads}")
        config.write_text("\n".join(lines) + "\n")
        configs[name] = config
    argv = {
        "gunicorn": [
            str(venv_bin / "gunicorn"),
            "-k",
            "sync",
            "-w",
            "1",
            "-b",
            f"127.0.0.1:{ports['gunicorn']}",
            "legacy.app:app",
        ],
        "uvicorn-migrated": [
            str(venv_bin / "uvicorn"),
            "migrated.app:app",
            "--port",
            str(ports["uvicorn-migrated"]),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
    }
    for name, config in configs.items():
        argv[name] = [
            str(venv_bin / "strangler"),
            "serve",
            "--config",
            str(config),
            "--port",
            str(ports[name]),
            "--no-access-log",
            "--dev",
            *serve_args,
        ]
    with ExitStack() as stack:
        urls = {}
        for name, command in argv.items():
            urls[name] = stack.enter_context(
                running(pin + command, port=ports[name], ready_path="/health", env=env, timeout=120)
            )
        yield urls


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a server process and its children (the workers),
    in seconds. Per request, it is the cost that other tenants of a shared machine do not add to:
    time the core spends on them is not charged to the server."""
    ticks = 0
    for task in [pid, *_descendants(pid)]:
        try:
            fields = Path(f"/proc/{task}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")


def _descendants(pid: int) -> list[int]:
    try:
        kids = [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
    return kids + [g for k in kids for g in _descendants(k)]


def login(url: str) -> str:
    response = httpx.post(
        url + "/login", json={"username": "admin", "password": "password"}, timeout=30
    )
    response.raise_for_status()
    token: str = response.json()["token"]
    return token


def routing_figure() -> float:
    out = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "bench_routing.py"),
            "--rounds",
            "5",
            "--calls",
            "20000",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    rows = [line.split() for line in out.stdout.splitlines() if "ok" in line or "OVER" in line]
    return max(float(row[-4]) for row in rows)  # "case ... 5.40 < 10 ok"


def overhead_figure() -> tuple[float, list[str]]:
    """What the gateway (default settings) adds per request beyond a Starlette Mount, in us
    (scripts/bench_overhead.py, in process), and the code of the features that are off which
    ran all the same (none, as it must)."""
    out = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bench_overhead.py")],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    print(out.stdout)
    lines = out.stdout.splitlines()
    line = next(line for line in lines if line.startswith("gateway (defaults)"))
    off = next(line for line in lines if line.startswith("features off run"))
    # "gateway (defaults) costs +3.98 us more than a Mount ...", "features off run ...: ok"
    _, *ran = off.split(":", 1)[1].split()  # its verdict, then what ran
    return float(line.split()[3]), ran


def bench_example(
    args: argparse.Namespace, use_wrk: bool
) -> tuple[dict[tuple[str, str, int], dict[str, float]], list[tuple[str, float, str, bool]]]:
    """The worked example on four servers: prints its table, returns its medians and checks."""
    endpoints = args.endpoints.split(",")
    levels = [int(c) for c in args.concurrency.split(",")]

    samples: dict[tuple[str, str, int], list[dict[str, float]]] = {}
    serve_args = args.serve_args.split()
    with (
        tempfile.TemporaryDirectory() as tmp,
        servers(Path(tmp), args.legacy_threads, serve_args) as urls,
    ):
        tokens = {name: login(url) for name, url in urls.items()}
        scripts = {}
        for name in urls:
            for endpoint in endpoints:
                path = Path(tmp) / f"{name}-{endpoint}.lua"
                path.write_text(lua_for(endpoint, tokens[name]))
                scripts[(name, endpoint)] = path

        pids = {name: server_pid(int(url.rsplit(":", 1)[1])) for name, url in urls.items()}

        def measure(name: str, endpoint: str, connections: int, seconds: int) -> dict[str, float]:
            used = cpu_seconds(pids[name])
            if use_wrk:
                result = run_wrk(urls[name], scripts[(name, endpoint)], connections, seconds)
            else:
                result = run_fallback(urls[name], endpoint, tokens[name], connections, seconds)
            used = cpu_seconds(pids[name]) - used
            result["cpu_us"] = used / max(result["requests"], 1) * 1e6
            return result

        for name in urls:  # warm up: model loaded, caches primed, JIT-free but page-cache warm
            for endpoint in endpoints:
                measure(name, endpoint, 8, 1)
        total = args.rounds * len(endpoints) * len(levels) * len(urls)
        done = 0
        for _ in range(args.rounds):
            for endpoint in endpoints:
                for connections in levels:
                    for name in urls:
                        result = measure(name, endpoint, connections, args.seconds)
                        samples.setdefault((name, endpoint, connections), []).append(result)
                        done += 1
                        print(f"\r  measured {done}/{total}", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)

    medians = {
        key: {
            field: statistics.median(r[field] for r in runs)
            for field in ("rps", "p50_ms", "p99_ms", "errors", "cpu_us")
        }
        for key, runs in samples.items()
    }
    names = list(dict.fromkeys(name for name, _, _ in medians))
    generator = "wrk" if use_wrk else "built-in generator"
    print(f"\nmedians of {args.rounds} round(s) x {args.seconds}s, servers on CPU {SERVER_CPU},")
    print(f"load from {generator} on CPU {LOAD_CPU}")
    print(f"{'endpoint':<14}{'c':>4}  " + "".join(f"{n:>35}" for n in names))
    header = "req/s  p50ms  p99ms err cpu-us"
    print(f"{'':<14}{'':>4}  " + "".join(f"{header:>35}" for _ in names))
    for endpoint in endpoints:
        for connections in levels:
            cells = []
            for name in names:
                m = medians[(name, endpoint, connections)]
                cells.append(
                    f"{m['rps']:>9.0f} {m['p50_ms']:>6.2f} {m['p99_ms']:>6.2f} {m['errors']:>3.0f}"
                    f" {m['cpu_us']:>6.0f}"
                )
            print(f"{endpoint:<14}{connections:>4}  " + "".join(f"{c:>35}" for c in cells))

    def ratio(a: str, b: str, endpoint: str, c: int, field: str) -> float:
        return medians[(a, endpoint, c)][field] / medians[(b, endpoint, c)][field]

    checks: list[tuple[str, float, str, bool]] = []
    for endpoint in endpoints:
        if 1 in levels:
            r = ratio("gateway-legacy", "gunicorn", endpoint, 1, "rps")
            checks.append(
                (f"gateway-legacy / gunicorn  req/s c=1   {endpoint}", r, ">= 1.0", r >= 1.0)
            )
        if 32 in levels:
            r = ratio("gateway-legacy", "gunicorn", endpoint, 32, "rps")
            want = 2.0 if endpoint in CHEAP else 1.5
            checks.append(
                (f"gateway-legacy / gunicorn  req/s c=32  {endpoint}", r, f">= {want}", r >= want)
            )
            r = ratio("gunicorn", "gateway-legacy", endpoint, 32, "cpu_us")
            checks.append(
                (
                    f"gateway-legacy / gunicorn  req/CPU-s c=32 {endpoint}",
                    r,
                    f">= {want}",
                    r >= want,
                )
            )
            r = ratio("gateway-legacy", "gunicorn", endpoint, 32, "p99_ms")
            checks.append(
                (f"gateway-legacy / gunicorn  p99 c=32    {endpoint}", r, "<= 1.5", r <= 1.5)
            )
        for c in levels:
            r = ratio("gateway-migrated", "uvicorn-migrated", endpoint, c, "rps")
            want = 0.97 if endpoint in CHEAP else 0.95
            name = f"gateway-migrated / uvicorn req/s c={c:<3} {endpoint}"
            checks.append((name, r, f">= {want}", r >= want))
            # The same ratio from the CPU each request cost the server (uvicorn's over the
            # gateway's): what req/s is at saturation on a core of its own, without the share
            # that other tenants of the machine took from the core during the run.
            r = ratio("uvicorn-migrated", "gateway-migrated", endpoint, c, "cpu_us")
            name = f"gateway-migrated / uvicorn req/CPU-s c={c:<2} {endpoint}"
            checks.append((name, r, f">= {want}", r >= want))
            r = ratio("gateway-migrated", "uvicorn-migrated", endpoint, c, "p99_ms")
            checks.append(
                (f"gateway-migrated / uvicorn p99 c={c:<4} {endpoint}", r, "<= 1.10", r <= 1.10)
            )
    if "predict-miss" in endpoints and 32 in levels:
        r = ratio("gateway-migrated", "gunicorn", "predict-miss", 32, "rps")
        checks.append(("migrated / legacy predict-miss req/s c=32", r, ">= 10", r >= 10))
        r = ratio("gateway-migrated", "gunicorn", "predict-miss", 32, "p99_ms")
        checks.append(("migrated / legacy predict-miss p99 c=32", r, "< 1.0", r < 1.0))
    routing_us = routing_figure()
    checks.append(("routing decision, worst case (us)", routing_us, "< 10", routing_us < 10))
    extra_us, ran = overhead_figure()
    checks.append(("gateway cost beyond a Starlette Mount (us)", extra_us, "<= 10", extra_us <= 10))
    checks.append(("features off: functions of theirs that ran", len(ran), "0", not ran))

    return medians, checks


def main() -> None:
    parser = argparse.ArgumentParser(description="Side-by-side benchmark of the worked example.")
    parser.add_argument("--quick", action="store_true", help="one short round (under two minutes)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5, help="per measurement (whole seconds)")
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS))
    parser.add_argument("--concurrency", default="1,32")
    parser.add_argument("--legacy-threads", type=int, default=None)
    parser.add_argument(
        "--serve-args", default="", help="extra `strangler serve` options, e.g. '--loop asyncio'"
    )
    parser.add_argument("--json", type=Path, default=None, help="where to write the figures")
    parser.add_argument(
        "--suites",
        default="example,httpbin,shadow,observe,fleet,cli",
        help="example (the worked example, four servers), httpbin (scripts/bench_httpbin.py),"
        " shadow (scripts/bench_shadow.py), observe (scripts/bench_observe.py),"
        " fleet (scripts/bench_fleet.py), cli (scripts/bench_cli.py)",
    )
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds = 1, 1
    suites = args.suites.split(",")
    use_wrk = shutil.which("wrk") is not None
    medians: dict[tuple[str, str, int], dict[str, float]] = {}
    checks: list[tuple[str, float, str, bool]] = []
    if "example" in suites:
        medians, example_checks = bench_example(args, use_wrk)
        checks += example_checks
    if "httpbin" in suites:
        import bench_httpbin

        def measure(url: str, path: str, connections: int, seconds: int) -> dict[str, float]:
            script = Path(tempfile.mkdtemp()) / "path.lua"
            script.write_text(f'wrk.path = "{path}"\n' + LUA_DONE)
            if use_wrk:
                return run_wrk(url, script, connections, seconds)
            return run_fallback(url, path, "", connections, seconds)

        httpbin_medians, httpbin_checks = bench_httpbin.run(
            ["taskset", "-c", SERVER_CPU], measure, args.rounds, args.seconds
        )
        medians.update({("httpbin/" + s, e, c): m for (s, e, c), m in httpbin_medians.items()})
        checks += httpbin_checks
    workdir = Path(tempfile.mkdtemp())

    def measure_example(
        url: str, name: str, endpoint: str, connections: int, seconds: int
    ) -> dict[str, float]:
        script = workdir / f"{name}-{endpoint}.lua"
        if not script.exists():
            script.write_text(lua_for(endpoint, login(url)))
        if use_wrk:
            return run_wrk(url, script, connections, seconds)
        return run_fallback(url, endpoint, login(url), connections, seconds)

    for suite in ("shadow", "observe"):
        if suite in suites:
            module = importlib.import_module(f"bench_{suite}")
            suite_medians, suite_checks = module.run(
                ["taskset", "-c", SERVER_CPU], workdir, measure_example, args.rounds, args.seconds
            )
            medians.update({(f"{suite}/{s}", e, c): m for (s, e, c), m in suite_medians.items()})
            checks += suite_checks

    if "fleet" in suites:
        import bench_fleet

        checks += bench_fleet.run()

    if "cli" in suites:
        import bench_cli

        checks += bench_cli.run(max(5, 5 * args.rounds))

    print("\nratios")
    for label, value, target, ok in checks:
        print(f"  {label:<52}{value:>8.2f}  {target:<8}{'PASS' if ok else 'MISS'}")
    out = args.json or REPO / "var" / "bench" / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "rounds": args.rounds,
                "seconds": args.seconds,
                "generator": "wrk" if use_wrk else "built-in",
                "medians": [
                    {"server": s, "endpoint": e, "connections": c, **m}
                    for (s, e, c), m in medians.items()
                ],
                "checks": [
                    {"check": label, "value": v, "target": t, "ok": ok}
                    for label, v, t, ok in checks
                ],
            },
            indent=2,
        )
    )
    print(f"\nfigures written to {out}")


if __name__ == "__main__":
    main()
