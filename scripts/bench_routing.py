"""Times `Gateway.route()`: match the endpoint, read the flag, bucket the caller, decide.

Run as `scripts/bench-routing`. It builds a gateway over a synthetic Flask/FastAPI pair of
`--endpoints` routes (a third with a path parameter), sets every endpoint to a 25 % canary keyed
by a JWT claim (the slowest path: the token is parsed and hashed), and prints microseconds per
decision for a static path, a parameterised path near the end of the table, and an unknown path;
then for a static path whose flag also has segments (a header, a cookie and a claim, the worst
case: none matches, so all three are tried before the canary split; issue #25).
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import time
from typing import Any

from fastapi import FastAPI
from flask import Flask

from strangler.assembly import create_gateway
from strangler.flags.model import Flag
from strangler.flags.store import MemoryFlagStore


def build(endpoints: int) -> tuple[Any, list[str]]:
    legacy, migrated = Flask("bench"), FastAPI()
    paths = []
    for i in range(endpoints):
        flask_path, fastapi_path = (
            (f"/r{i}/<item>", f"/r{i}/{{item}}") if i % 3 == 0 else (f"/r{i}", f"/r{i}")
        )
        legacy.add_url_rule(flask_path, f"e{i}", lambda **_: "")
        migrated.get(fastapi_path)(lambda: {})
        paths.append(flask_path.replace("<item>", "42"))
    store = MemoryFlagStore()
    gateway = create_gateway(legacy, migrated, store, sticky="jwt:user")
    for endpoint in gateway.inventory:
        if endpoint.served_by == "both":
            store.set(endpoint.key, Flag.build("canary", 25), actor="bench", reason="bench")
    gateway.watcher.refresh()
    return gateway, paths


def with_segments(gateway: Any, path: str) -> str:
    """Gives the endpoint of `path` a 25 % canary with three segments the bench's requests do
    not match; returns the path."""
    endpoint = gateway.inventory.match("GET", path)
    specs = ["header:X-Tenant=acme->migrated", "cookie:beta=1->migrated"]
    flag = Flag.build("canary", 25).with_segments([*specs, "claim:role=internal->migrated"])
    gateway.watcher.store.set(endpoint.key, flag, actor="bench", reason="bench")
    gateway.watcher.refresh()
    return path


def scope_for(path: str) -> dict[str, Any]:
    claims = base64.urlsafe_b64encode(json.dumps({"user": "alice"}).encode()).rstrip(b"=")
    token = b"eyJhbGciOiJIUzI1NiJ9." + claims + b".c2ln"
    headers = [(b"host", b"x"), (b"user-agent", b"bench"), (b"authorization", b"Bearer " + token)]
    return {"type": "http", "method": "GET", "path": path, "headers": headers}


def time_per_call(gateway: Any, path: str, rounds: int, calls: int) -> float:
    scope = scope_for(path)
    route = gateway.route
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            route(scope, path)
        samples.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()
    gateway, paths = build(args.endpoints)
    last_param = next(p for p in reversed(paths) if p.endswith("/42"))
    cases = [
        ("static path", paths[1]),
        ("parameterised, late", last_param),
        ("unknown path", "/nope"),
    ]
    print(f"routing decision, {len(gateway.inventory)} endpoints, 25% canary on jwt:user")
    print(f"{'case':<22}{'us/decision':>12}{'target':>10}")
    segmented = with_segments(gateway, paths[2])
    cases.append(("3 segments, no match", segmented))
    for name, path in cases:
        micros = time_per_call(gateway, path, args.rounds, args.calls)
        verdict = "ok" if micros < 10 else "OVER"
        print(f"{name:<22}{micros:>12.2f}{'< 10':>10}  {verdict}")


if __name__ == "__main__":
    main()
