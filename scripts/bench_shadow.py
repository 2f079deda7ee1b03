"""What shadowing costs the client: the worked example's gateway with shadow off and at 100 %,
side by side (`scripts/bench --suites shadow`).

Two `strangler serve` servers of the worked example (everything on legacy), pinned to CPU 0,
one with `GET /model-info` and `POST /predict` shadowed at 100 % (the port compared on every
request), driven in turn by wrk on CPU 1. The shadow work runs after each answer is sent, on the
same core: at c=1 the latency should not move; at c=32 the core does both jobs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench_table import measure_rounds, medians_of, print_rows  # noqa: E402

from tests.support.servers import free_port, running  # noqa: E402

# BENCH_SHADOW_PERCENT=10 scripts/bench --suites shadow: a share nearer what teams run.
PERCENT = float(os.environ.get("BENCH_SHADOW_PERCENT", "100"))
SERVERS = ("shadow-off", "shadow-on")
ROWS = [("model-info", 1), ("model-info", 32), ("predict-hit", 1), ("predict-hit", 32)]
SHADOWED = [
    ("GET /model-info", None),
    ("POST /predict", "a pure function of its features (the cache only remembers)"),
]

Row = dict[str, float]
Check = tuple[str, float, str, bool]


def example_server(
    stack: ExitStack, pin: list[str], workdir: Path, name: str, extra: str = ""
) -> str:
    """Starts `strangler serve` over the worked example (everything on legacy, admin API open
    on loopback, no access log), pinned by `pin`, with `extra` settings; returns its URL."""
    strangler = str(Path(sys.executable).parent / "strangler")
    config = workdir / f"{name}.toml"
    config.write_text(
        'legacy = "legacy.app:app"\nmigrated = "migrated.app:app"\n'
        f'flags = "{name}.db"\ncontracts = "{REPO / "contract_tests"}"\n' + extra
    )
    port = free_port()
    argv = [strangler, "serve", "--config", str(config), "--port", str(port)]
    argv += ["--no-access-log", "--dev"]
    return stack.enter_context(running(pin + argv, port=port, ready_path="/health", timeout=120))


@contextmanager
def servers(pin: list[str], workdir: Path) -> Iterator[dict[str, str]]:
    with ExitStack() as stack:
        urls = {name: example_server(stack, pin, workdir, name) for name in SERVERS}
        for endpoint, free in SHADOWED:
            body = {"endpoint": endpoint, "percentage": PERCENT, "reason": "bench"}
            if free:
                body["side_effect_free"] = free
            answer = httpx.post(urls["shadow-on"] + "/_strangler/shadow", json=body)
            answer.raise_for_status()
        yield urls


def run(
    pin: list[str],
    workdir: Path,
    measure: Callable[[str, str, str, int, int], Row],
    rounds: int,
    seconds: int,
) -> tuple[dict[tuple[str, str, int], Row], list[Check]]:
    """Measures the rows on both servers; prints the table; returns medians and checks.
    `measure(url, name, endpoint, connections, seconds)` runs the load."""
    with servers(pin, workdir) as urls:
        samples = measure_rounds(urls, ROWS, measure, rounds, seconds)
        report = httpx.get(urls["shadow-on"] + "/_strangler/shadow").json()
    medians = medians_of(samples)
    title = f"shadow {PERCENT:g} % vs off (worked example, legacy serving): {rounds} x {seconds}s"
    print_rows(title, SERVERS, ROWS, medians)
    for entry in report["endpoints"]:
        print(
            f"  {entry['endpoint']}: shadowed {entry['shadowed']}, compared {entry['compared']},"
            f" mismatched {entry['mismatched']}, dropped {entry['dropped']}, busy {entry['busy']},"
            f" noise {entry['noise']}"
        )
    checks: list[Check] = []
    for endpoint, connections in ROWS:
        on, off = (
            medians[("shadow-on", endpoint, connections)],
            medians[("shadow-off", endpoint, connections)],
        )
        for field in ("p50_ms", "p99_ms", "rps"):
            r = on[field] / off[field]
            label = f"shadow {PERCENT:g}%/off {field} c={connections} {endpoint}"
            checks.append((label, r, "(info)", True))
    mismatched = sum(e["mismatched"] for e in report["endpoints"])
    checks.append(("shadow: mismatches with the real port", mismatched, "== 0", mismatched == 0))
    return medians, checks
