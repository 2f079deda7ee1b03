"""What the request path (strangler/gateway/dispatch.py) costs a request, in bytecodes of ours:
a budget that holds on a busy machine, where a few microseconds cannot be timed (issue #21)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator

import pytest
from flask import Flask
from starlette.routing import Route, Router

from strangler.assembly import create_gateway
from strangler.flags.memory import MemoryFlagStore
from strangler.flags.model import Flag
from strangler.gateway.dispatch import ROUTED_KEPT, ROUTED_PATH, Gateway
from strangler.types import Message, Receive, Scope, Send
from tests.support.asgi import http_scope
from tests.support.bytecodes import bytecodes_per_call

# Bytecodes of strangler/ per request to an endpoint flagged to migrated, default settings
# (metrics, request id, backend header). It was 566 before #21's hot-path work (ROUTED_KEPT), 462
# before the request's headers were read through a dict made in C (a loop cost 14 a header).
BUDGET = 445


class Answer:
    """The migrated endpoint, a plain ASGI app (a class, so Starlette's Route passes it on)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture
def flagged() -> Iterator[Gateway]:
    """A gateway in front of a one-route pair, `GET /health` flagged to migrated."""
    legacy = Flask("legacy")
    legacy.add_url_rule("/health", "health", lambda: "ok")
    store = MemoryFlagStore()
    gateway = create_gateway(legacy, Router([Route("/health", Answer(), methods=["GET"])]), store)
    store.set("GET /health", Flag.build("migrated"), actor="test", reason="test")
    gateway.watcher.refresh()
    gateway._watching = True  # no threads: only the request path runs
    yield gateway
    gateway.close()


async def test_a_request_to_migrated_stays_within_its_bytecode_budget(flagged: Gateway) -> None:
    """A request served by migrated with the default features runs at most BUDGET bytecodes
    of the library (routing, request id, headers, metrics)."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    async def request() -> None:
        await flagged(http_scope("/health", headers=[(b"host", b"x")]), receive, send)

    per_request, split = await bytecodes_per_call(request)
    assert (b"x-strangler-backend", b"migrated") in sent[0]["headers"]
    assert per_request <= BUDGET, f"{per_request:.0f} bytecodes a request: {split.most_common()}"


async def test_a_request_with_many_headers_costs_what_one_with_one_costs(
    flagged: Gateway,
) -> None:
    """The request's headers are read in C: twenty headers (a browser sends a dozen) cost the
    request path no more bytecodes than one."""

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        pass

    def request(headers: list[tuple[bytes, bytes]]) -> Callable[[], Awaitable[None]]:
        return lambda: flagged(http_scope("/health", headers=headers), receive, send)

    many = [(b"x-header-%d" % i, b"value") for i in range(20)]
    one, _ = await bytecodes_per_call(request([(b"host", b"x")]))
    twenty, split = await bytecodes_per_call(request(many))
    assert twenty <= one, f"{twenty:.0f} bytecodes with 20 headers, {one:.0f} with one: {split}"


async def test_a_kept_decision_gives_way_to_a_flag_change(flagged: Gateway) -> None:
    """A decision kept for a path is dropped once the flags change: the next request follows
    the new flag."""
    scope = http_scope("/health")
    assert flagged.route(scope, "/health").backend.value == "migrated"
    flagged.watcher.store.set("GET /health", Flag.build("legacy"), actor="test", reason="test")
    flagged.watcher.refresh()
    assert flagged.route(scope, "/health").backend.value == "legacy"


async def test_a_scan_of_made_up_paths_keeps_at_most_routed_kept_decisions(
    flagged: Gateway,
) -> None:
    """Decisions for ever new paths never pile up past ROUTED_KEPT, nor for paths past
    ROUTED_PATH characters; the known path is still routed by its flag after the scan."""
    for number in range(3 * ROUTED_KEPT):
        path = f"/scan/{number}"
        assert flagged.route(http_scope(path), path).reason.value == "fallthrough"
        assert len(flagged._routed) <= ROUTED_KEPT
    long_path = "/" + "a" * ROUTED_PATH
    flagged.route(http_scope(long_path), long_path)
    assert ("GET", long_path) not in flagged._routed
    assert flagged.route(http_scope("/health"), "/health").backend.value == "migrated"


async def test_canary_decisions_are_made_per_caller_not_kept(flagged: Gateway) -> None:
    """Under a canary strictly between 0 and 100 %, each caller keeps its own bucket: no
    decision is kept for the path, whoever asked first."""
    flagged.watcher.store.set("GET /health", Flag.build("canary", 50), actor="t", reason="t")
    flagged.watcher.refresh()
    backends = set()
    for caller in range(40):
        scope = http_scope("/health")
        scope["client"] = (f"10.0.0.{caller}", 50000)
        backends.add(flagged.route(scope, "/health").backend)
    assert len(backends) == 2
    assert not flagged._routed
