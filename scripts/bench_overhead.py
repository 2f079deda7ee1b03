"""The gateway's own cost per request, in process: what it adds to a trivial Starlette app,
beside what a Starlette `Mount` adds to the same app.

Run as `.venv/bin/python scripts/bench_overhead.py`. Each variant serves the same request
`--calls` times in one coroutine (no server, no sockets: only the layers' own work), best median
of `--rounds`. The gateway routes the endpoint to migrated by flag; legacy (a Flask app) declares
it too, so the request takes the full path: match, flag, decision, the reply's headers.

Beside the times, the bytecodes of strangler/ each request runs (tests/support/bytecodes.py):
the same on every run, however busy the machine, so they show a change of a few percent that the
times cannot. A feature that is off must run none of its code: the last line checks that the
metrics and the request ids run nothing with `metrics = false` and `request_id_header = ""`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from starlette.routing import Mount, Route, Router

from strangler.assembly import create_gateway
from strangler.flags.memory import MemoryFlagStore
from strangler.flags.model import Flag
from strangler.types import ASGIApp, Message, Receive, Scope, Send

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.bytecodes import bytecodes_per_call

# The code each feature runs per request: none of it may run with the feature off.
FEATURE_CODE = ("counters.py:", "requestid.py:", "spans.py:")

BODY = b'{"status":"ok"}'
START: Message = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"application/json"), (b"content-length", b"15")],
}
END: Message = {"type": "http.response.body", "body": BODY}


class Answer:
    """The trivial endpoint, a plain ASGI app: one JSON answer."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(START)
        await send(END)


# The migrated app: a Starlette router with the one route (the gateway reads its routes).
app = Router([Route("/health", Answer(), methods=["GET"])])


async def receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def send(message: Message) -> None:
    pass


def request() -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/health",
        "raw_path": b"/health",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"bench"), (b"accept", b"*/*")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


def gateway(**settings: Any) -> ASGIApp:
    legacy = Flask("bench")
    legacy.add_url_rule("/health", "health", lambda: "ok")
    store = MemoryFlagStore()
    built = create_gateway(legacy, app, store, **settings)
    store.set("GET /health", Flag.build("migrated"), actor="bench", reason="bench")
    built.watcher.refresh()
    built._watching = True  # no threads: only the request path is timed
    return built


def traced(ratio: float = 1.0) -> ASGIApp:
    """The defaults with `tracing = true` and an SDK tracer (spans made, recorded, dropped: no
    exporter), the cost of tracing itself (#27); `ratio`: the share of new traces sampled (the
    rest pay for a span that records nothing)."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    built = gateway(tracing=True)
    provider = TracerProvider(sampler=ParentBased(TraceIdRatioBased(ratio)))
    built.tracer = provider.get_tracer("strangler")  # type: ignore[attr-defined]
    return built


class SpanAlone:
    """The SDK's own floor: a bare server span started and ended around the trivial app."""

    def __init__(self) -> None:
        from opentelemetry.sdk.trace import TracerProvider

        self.tracer = TracerProvider().get_tracer("strangler")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.tracer.start_span(scope["method"]).end()
        await app(scope, receive, send)


def per_request(target: ASGIApp, rounds: int, calls: int) -> float:
    """Microseconds per request: the best round's mean (the least disturbed)."""

    async def run() -> float:
        samples = []
        for _ in range(rounds):
            start = time.perf_counter()
            for _ in range(calls):
                await target(request(), receive, send)
            samples.append((time.perf_counter() - start) / calls * 1e6)
        return min(samples)

    return asyncio.run(run())


def bytecodes(target: ASGIApp) -> tuple[float, Counter[str]]:
    """Bytecodes of strangler/ per request, and their split by function."""
    return asyncio.run(bytecodes_per_call(lambda: target(request(), receive, send)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()
    variants: list[tuple[str, Callable[[], ASGIApp]]] = [
        ("the app alone", lambda: app),
        ("Starlette Mount", lambda: Router([Mount("/", app=app)])),
        ("gateway, defaults", gateway),
        (
            "gateway, all off",
            lambda: gateway(metrics=False, request_id_header=None, backend_header=None),
        ),
        ("gateway, metrics only", lambda: gateway(request_id_header=None, backend_header=None)),
        ("gateway, request id only", lambda: gateway(metrics=False, backend_header=None)),
        ("gateway, header only", lambda: gateway(metrics=False, request_id_header=None)),
        ("gateway, tracing on", traced),
        ("gateway, tracing 0% sampled", lambda: traced(0.0)),
        ("app + a bare SDK span", SpanAlone),
    ]
    built = {name: build() for name, build in variants}
    figures = {name: per_request(app, args.rounds, args.calls) for name, app in built.items()}
    counted = {name: bytecodes(app) for name, app in built.items()}
    alone = figures["the app alone"]
    mount = figures["Starlette Mount"] - alone
    print(f"{'variant':<28}{'us/request':>11}{'added':>9}{'vs Mount':>10}{'bytecodes':>11}")
    for name, micros in figures.items():
        added = micros - alone
        ours = counted[name][0]
        print(f"{name:<28}{micros:>11.2f}{added:>9.2f}{added - mount:>+10.2f}{ours:>11.0f}")
    gap = figures["gateway, defaults"] - alone - mount
    verdict = "ok" if gap <= 10 else "OVER"
    print(f"gateway (defaults) costs {gap:+.2f} us more than a Mount (within 10 us): {verdict}")
    ran = sorted(name for name in counted["gateway, all off"][1] if name.startswith(FEATURE_CODE))
    print(f"features off run none of their code: {'ok' if not ran else 'OVER'} {' '.join(ran)}")


if __name__ == "__main__":
    main()
