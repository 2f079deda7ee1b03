"""What counting costs: the worked example's gateway with metrics, request ids and the request
log off, with metrics and request ids (the defaults), and with the JSON request log too, side by
side on the cheapest endpoint (`scripts/bench --suites observe`).

Three `strangler serve` servers, pinned to CPU 0, each with `GET /health` on migrated (the
shortest path through the gateway, so the bookkeeping weighs the most), driven in turn by wrk
on CPU 1. The target: each costs under 3 % of the bare server's throughput.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import httpx
from bench_shadow import example_server
from bench_table import measure_rounds, medians_of, print_rows

SERVERS = ("bare", "metrics", "metrics+log")
SETTINGS = {
    "bare": 'metrics = false\nrequest_id_header = ""\n',
    "metrics": "",  # the defaults: metrics and request ids on, no request log
    "metrics+log": 'request_log = "{workdir}/requests.log"\n',
}
ROWS = [("health", 1), ("health", 32)]
TARGET = 0.97  # of the bare server's req/s

Row = dict[str, float]
Check = tuple[str, float, str, bool]


def run(
    pin: list[str],
    workdir: Path,
    measure: Callable[[str, str, str, int, int], Row],
    rounds: int,
    seconds: int,
) -> tuple[dict[tuple[str, str, int], Row], list[Check]]:
    """Measures the rows on the three servers; prints the table; returns medians and checks."""
    with ExitStack() as stack:
        urls = {}
        for name in SERVERS:
            extra = SETTINGS[name].format(workdir=workdir)
            urls[name] = url = example_server(stack, pin, workdir, f"observe-{name}", extra)
            body = {"endpoint": "GET /health", "mode": "migrated", "reason": "bench"}
            httpx.post(url + "/_strangler/flags", json=body).raise_for_status()
        samples = measure_rounds(urls, ROWS, measure, rounds, seconds)
    logged = (workdir / "requests.log").read_bytes().count(b"\n")  # flushed at shutdown
    medians = medians_of(samples)
    title = f"metrics and request log vs none (GET /health on migrated): {rounds} x {seconds}s"
    print_rows(title, SERVERS, ROWS, medians)
    print(f"  request log: {logged} lines")
    checks: list[Check] = []
    for endpoint, connections in ROWS:
        bare = medians[("bare", endpoint, connections)]["rps"]
        for name in SERVERS[1:]:
            ratio = medians[(name, endpoint, connections)]["rps"] / bare
            label = f"{name}/bare req/s c={connections} {endpoint}"
            checks.append((label, ratio, f">= {TARGET}", ratio >= TARGET))
    return medians, checks
