"""What shadowing a write costs the client: the blog pair's POST endpoints, shadowed in a sandbox
at 10 % and 100 %, beside the same gateway shadowing nothing (`scripts/bench --suites shadow`).

Four `strangler serve` of the blog pair (tests/test_apps/blog/served.py, everything on legacy),
pinned to CPU 0, driven in turn by wrk (or the built-in generator) on CPU 1:

    plain        no sandbox, no shadow flag: the gateway as it was before #23
    shadow-0     both apps' engines covered (`sandbox_databases`), GET /articles/{slug} shadowed
                 at 100 % and the measured endpoints at 0 %: unshadowed requests on a gateway
                 that shadows, which must pay nothing (the same figures as plain)
    shadow-10    the measured endpoints shadowed at 10 %
    shadow-100   ... at 100 %

Last, in process: what noting an unshadowed request to an endpoint with a shadow share (for
races, strangler.shadow.races) adds to it.

The workloads write: `favorite` is POST /articles/{slug}/favorite with a valid token (one row
updated; every request the same), `register` is POST /users with a name never used before.
A shadowed request runs the port first in a sandbox (its writes rolled back), then is served by
legacy, so the client waits for both. The shadowing servers run with `shadow_max_cpu = 2` (no
cap): every share is shadowed however busy the core, which is the cost this suite is for (with
the default cap a saturated server skips most of them, counted as busy; see
docs/performance.md). On a SQLite file, and on PostgreSQL when it can be started here
(tests/support/postgres.py); BENCH_SHADOW_DATABASES=sqlite runs one.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench_table import measure_rounds, medians_of, print_rows  # noqa: E402

from tests.support.servers import free_port, running  # noqa: E402

LOAD_CPU = "1"
SERVERS = ("plain", "shadow-0", "shadow-10", "shadow-100")
PERCENT = {"shadow-0": 0.0, "shadow-10": 10.0, "shadow-100": 100.0}
ROWS = [("favorite", 1), ("favorite", 8), ("register", 1), ("register", 8)]
MEASURED = ("POST /articles/{slug}/favorite", "POST /users")
DATABASES = os.environ.get("BENCH_SHADOW_DATABASES", "sqlite,postgresql").split(",")

Row = dict[str, float]
Key = tuple[str, str, int]
Check = tuple[str, float, str, bool]

# wrk's summary as one JSON line (as scripts/benchmark.py prints it).
LUA_DONE = """
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
                 + summary.errors.status + summary.errors.timeout
  io.write(string.format('JSON {"requests": %d, "seconds": %f, "p50_ms": %f, "p99_ms": %f, '
    .. '"errors": %d}\\n', summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors))
end
"""


def lua_for(workload: str, slug: str, token: str) -> str:
    """The wrk script of a workload; `register` names are unique across runs and threads."""
    if workload == "favorite":
        return (
            f'wrk.method = "POST"\nwrk.path = "/articles/{slug}/favorite"\n'
            f'wrk.headers["Authorization"] = "Token {token}"\n' + LUA_DONE
        )
    nonce = uuid.uuid4().hex[:12]
    return (
        'wrk.headers["Content-Type"] = "application/json"\n'
        "counter = 0\n"
        "request = function()\n"
        "  counter = counter + 1\n"
        f'  local name = "{nonce}-" .. counter\n'
        """  local body = '{"username": "' .. name .. '", "email": "' .. name"""
        """ .. '@x.org", "password": "pw"}'\n"""
        '  return wrk.format("POST", "/users", nil, body)\n'
        "end\n" + LUA_DONE
    )


def run_wrk(url: str, script: Path, connections: int, seconds: int) -> Row:
    import json

    argv = ["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s"]
    argv += ["--timeout", "10s", "-s", str(script), url]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=True)
    line = next(line for line in out.stdout.splitlines() if line.startswith("JSON "))
    result: Row = json.loads(line[5:])
    result["rps"] = result["requests"] / result["seconds"]
    return result


def run_builtin(
    url: str, workload: str, slug: str, token: str, connections: int, seconds: int
) -> Row:
    """The same load from an asyncio client, for machines without wrk (it saturates sooner)."""

    async def main() -> Row:
        latencies: list[float] = []
        errors = 0
        nonce = uuid.uuid4().hex[:12]
        counter = 0
        deadline = time.perf_counter() + seconds

        async def worker(client: httpx.AsyncClient) -> None:
            nonlocal errors, counter
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                if workload == "favorite":
                    headers = {"Authorization": f"Token {token}"}
                    r = await client.post(f"/articles/{slug}/favorite", headers=headers)
                else:
                    counter += 1
                    name = f"{nonce}-{counter}"
                    body = {"username": name, "email": f"{name}@x.org", "password": "pw"}
                    r = await client.post("/users", json=body)
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
def databases(workdir: Path) -> Iterator[dict[str, str]]:
    """A SQLAlchemy URL per database this machine can run (PostgreSQL skipped, and said, where
    it cannot be started); each has the blog's tables."""
    from sqlalchemy import create_engine

    from tests.test_apps.blog.schema import metadata

    with ExitStack() as stack:
        urls = {}
        if "sqlite" in DATABASES:
            urls["sqlite"] = f"sqlite:///{workdir}/blog-%s.db"  # a file per server
        if "postgresql" in DATABASES:
            import pytest  # postgres_server says why it cannot run by skipping

            from tests.support.postgres import postgres_server

            try:
                urls["postgresql"] = stack.enter_context(postgres_server())
            except pytest.skip.Exception as exc:
                print(f"\nshadow: PostgreSQL not measured: {exc}", file=sys.stderr)
        for url in urls.values():
            for name in SERVERS:
                engine = create_engine(url.replace("%s", name))
                metadata.create_all(engine)
                engine.dispose()
        yield urls


def blog_server(
    stack: ExitStack, pin: list[str], workdir: Path, name: str, database: str, url: str
) -> str:
    """Starts `strangler serve` over the blog pair on `url` (everything on legacy, admin API
    open on loopback, no access log), pinned by `pin`; returns its base URL."""
    strangler = str(Path(sys.executable).parent / "strangler")
    config = workdir / f"{database}-{name}.toml"
    lines = [
        'legacy = "tests.test_apps.blog.served:legacy"',
        'migrated = "tests.test_apps.blog.served:migrated"',
        f'flags = "{database}-{name}.db"',
    ]
    if name != "plain":
        lines += ['sandbox_databases = ["tests.test_apps.blog.served:engines"]']
        lines += ["shadow_max_cpu = 2.0"]  # no cap: every share shadowed (see the docstring)
    config.write_text("\n".join(lines) + "\n")
    port = free_port()
    argv = [strangler, "serve", "--config", str(config), "--port", str(port)]
    argv += ["--no-access-log", "--dev"]
    env = {"BLOG_DATABASE_URL": url}
    return stack.enter_context(
        running(pin + argv, port=port, ready_path="/health", env=env, timeout=120)
    )


def prepare(url: str, name: str) -> tuple[str, str]:
    """A user, its token and an article to favorite, made through the gateway (legacy)."""
    who = f"bench-{name}-{uuid.uuid4().hex[:8]}"
    body = {"username": who, "email": f"{who}@x.org", "password": "pw"}
    httpx.post(url + "/users", json=body, timeout=30).raise_for_status()
    login = httpx.post(url + "/login", json={"username": who, "password": "pw"}, timeout=30)
    token: str = login.raise_for_status().json()["token"]
    headers = {"Authorization": f"Token {token}"}
    made = httpx.post(url + "/articles", json={"title": who, "body": "b"}, headers=headers)
    slug: str = made.raise_for_status().json()["article"]["slug"]
    return slug, token


def shadow(url: str, endpoint: str, percentage: float) -> None:
    body = {"endpoint": endpoint, "percentage": percentage, "reason": "bench"}
    httpx.post(url + "/_strangler/shadow", json=body, timeout=30).raise_for_status()


def bench_database(
    pin: list[str], workdir: Path, database: str, url: str, rounds: int, seconds: int
) -> tuple[dict[Key, Row], list[Check]]:
    use_wrk = shutil.which("wrk") is not None
    with ExitStack() as stack:
        urls = {
            name: blog_server(stack, pin, workdir, name, database, url.replace("%s", name))
            for name in SERVERS
        }
        for name, percentage in PERCENT.items():
            for endpoint in MEASURED:
                shadow(urls[name], endpoint, percentage)
            if percentage == 0:
                shadow(urls[name], "GET /articles/{slug}", 100)  # the gateway shadows, elsewhere
        made = {name: prepare(server, name) for name, server in urls.items()}

        def measure(server: str, name: str, workload: str, connections: int, secs: int) -> Row:
            slug, token = made[name]
            if not use_wrk:
                return run_builtin(server, workload, slug, token, connections, secs)
            script = workdir / f"{database}-{name}-{workload}.lua"
            script.write_text(lua_for(workload, slug, token))
            return run_wrk(server, script, connections, secs)

        samples = measure_rounds(urls, ROWS, measure, rounds, seconds)
        reports = {
            name: httpx.get(urls[name] + "/_strangler/shadow", timeout=30).json()
            for name in PERCENT
        }
    medians = medians_of(samples)
    errors = {key: max(r["errors"] for r in runs) for key, runs in samples.items()}
    generator = "wrk" if use_wrk else "built-in generator"
    title = (
        f"shadowing writes on {database} (blog pair, legacy serving, the port in a sandbox):"
        f" {rounds} x {seconds}s, {generator} on CPU {LOAD_CPU}"
    )
    print_rows(title, SERVERS, ROWS, medians)
    print(f"  errors (worst round): {sum(errors.values()):g}")
    for name, report in reports.items():
        for entry in report["endpoints"]:
            if entry["endpoint"] not in MEASURED:
                continue
            print(
                f"  {name} {entry['endpoint']}: shadowed {entry['shadowed']},"
                f" compared {entry['compared']}, mismatched {entry['mismatched']},"
                f" raced {entry.get('raced', 0)}, busy {entry['busy']},"
                f" timed out {entry.get('timed_out', 0)}, failed {entry.get('failed', 0)}"
            )
            if entry["mismatched"]:
                print(f"    where: {entry['mismatched_where']}")
    return medians, checks_of(database, medians, reports, errors)


def checks_of(
    database: str, medians: dict[Key, Row], reports: dict[str, dict], errors: dict[Key, float]
) -> list[Check]:
    """The ratios against `plain`: shadow-0's must be ~1 (unshadowed requests pay nothing)."""
    checks: list[Check] = []
    for workload, connections in ROWS:
        base = medians[("plain", workload, connections)]
        for name in PERCENT:
            m = medians[(name, workload, connections)]
            for field in ("p50_ms", "p99_ms"):
                r = m[field] / base[field]
                label = f"{database} {name}/plain {field[:3]} c={connections} {workload}"
                if name == "shadow-0" and field == "p50_ms":
                    # Loopback at c=1 moves a few % between identical runs on a shared core.
                    checks.append((label, r, "<= 1.10", r <= 1.10))
                else:
                    checks.append((label, r, "(info)", True))
    mismatched = sum(e["mismatched"] for report in reports.values() for e in report["endpoints"])
    label = f"{database} shadow: mismatches with the faithful port"
    checks.append((label, mismatched, "== 0", mismatched == 0))
    worst = max(errors.values())
    checks.append((f"{database} shadow: failed requests (worst run)", worst, "== 0", worst == 0))
    return checks


def run(
    pin: list[str],
    workdir: Path,
    measure: Callable[[str, str, str, int, int], Row],
    rounds: int,
    seconds: int,
) -> tuple[dict[Key, Row], list[Check]]:
    """Measures the rows on the four servers, per database; prints the tables; returns medians
    (server named `database/server`) and checks. `measure` (the worked example's) is unused:
    the blog's workloads are its own."""
    del measure
    medians: dict[Key, Row] = {}
    checks: list[Check] = []
    with databases(workdir) as urls:
        for database, url in urls.items():
            found, more = bench_database(pin, workdir, database, url, rounds, seconds)
            medians.update({(f"{database}/{s}", e, c): m for (s, e, c), m in found.items()})
            checks += more
    checks.append(noting_cost())
    return medians, checks


def noting_cost(calls: int = 100_000) -> Check:
    """What noting an unshadowed request costs (an endpoint with a shadow share: the tap's
    serve_unshadowed, for races), in process: an app that answers at once, called directly and
    through it; the best of 5 runs of `calls`, in microseconds per request."""
    from strangler.shadow.tap import ShadowTap

    async def app(scope: dict, receive: object, send: object) -> None:
        return None

    async def best(noted: bool) -> float:
        tap = ShadowTap()
        scope = {"method": "POST", "path": "/articles/a/favorite", "query_string": b""}
        key = "POST /articles/{slug}/favorite"
        runs = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(calls):
                if noted:
                    await tap.serve_unshadowed(key, app, scope, app, app)  # type: ignore[arg-type]
                else:
                    await app(scope, app, app)
            runs.append((time.perf_counter() - start) / calls)
        return min(runs)

    added = (asyncio.run(best(True)) - asyncio.run(best(False))) * 1e6
    print(f"\nnoting an unshadowed request (serve_unshadowed, in process): +{added:.2f} us")
    return ("shadow: noting an unshadowed request, us (in process)", added, "(info)", True)
