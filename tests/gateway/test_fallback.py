"""A guarded endpoint's failed migrated answers (strangler.gateway.fallback), in process (#25):
retried on legacy where nothing can have changed, else a 500 in the apps' error shape, marked
with the backend; counted as migrated's failures either way."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from flask import Flask

from strangler.assembly import create_gateway
from strangler.gateway.dispatch import Gateway
from strangler.metrics.figures import Tally
from strangler.types import Backend
from tests.support.waiting import wait_until_async

legacy = Flask("fallback_legacy")


@legacy.route("/work", methods=["GET", "POST"])
def legacy_work() -> Any:
    return {"app": "legacy"}


@legacy.route("/busy", methods=["GET", "POST"])
def legacy_busy() -> Any:
    return {"app": "legacy"}


@legacy.get("/fine")
def legacy_fine() -> Any:
    return {"app": "legacy"}


# /stuck: legacy holds its thread until the test lets it go (a retry in flight)
reached = threading.Event()
release = threading.Event()


@legacy.get("/stuck")
def legacy_stuck() -> Any:
    reached.set()
    release.wait(10)
    return {"app": "legacy"}


migrated = FastAPI()


@migrated.api_route("/work", methods=["GET", "POST"])
async def migrated_work(request: Request) -> Any:
    await request.body()
    raise RuntimeError("the port fails here")


@migrated.api_route("/busy", methods=["GET", "POST"])
async def migrated_busy() -> Any:
    return JSONResponse({"error": "try later"}, status_code=503)


@migrated.get("/fine")
async def migrated_fine() -> Any:
    return {"app": "migrated"}


@migrated.get("/stuck")
async def migrated_stuck() -> Any:
    raise RuntimeError("the port fails here")


async def started(
    guard: list[str], **settings: Any
) -> AsyncIterator[tuple[Gateway, httpx.AsyncClient]]:
    gateway = create_gateway(legacy, migrated, "memory:", guard=guard, **settings)
    transport = httpx.ASGITransport(app=gateway, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://g") as client:
        keys = ("GET /work", "POST /work", "GET /busy", "POST /busy", "GET /fine", "GET /stuck")
        for key in keys:
            gateway.runtime.service.set(key, "migrated", actor="t", reason="ported")
        gateway.watcher.refresh()
        yield gateway, client
    gateway.close()


@pytest.fixture
async def guarded() -> AsyncIterator[tuple[Gateway, httpx.AsyncClient]]:
    async for pair in started(["*"]):
        yield pair


def migrated_counts(gateway: Gateway, key: str) -> tuple[int, int]:
    """(requests, 5xx) counted for migrated on the endpoint, as the guard reads them."""
    sides = gateway.runtime.rollouts.fleet.read().endpoint(key)
    tally = Tally()
    for by in sides.values():
        tally += by.get(Backend.MIGRATED.value, Tally())
    return tally.requests, tally.errors


async def test_a_failed_get_is_answered_by_legacy_and_counted_as_migrateds_failure(
    guarded: tuple[Gateway, httpx.AsyncClient],
) -> None:
    """The port raises on a GET: the client gets legacy's answer, marked legacy; the figures
    count a migrated 500, so the guard sees the port fail."""
    gateway, client = guarded
    answer = await client.get("/work")
    assert answer.status_code == 200
    assert answer.json() == {"app": "legacy"}
    assert answer.headers["x-strangler-backend"] == "legacy"
    assert answer.headers["x-request-id"]
    assert migrated_counts(gateway, "GET /work") == (1, 1)


async def test_a_migrated_5xx_to_a_get_is_retried_on_legacy(
    guarded: tuple[Gateway, httpx.AsyncClient],
) -> None:
    """The port's own 503 to a GET: legacy's answer instead."""
    gateway, client = guarded
    answer = await client.get("/busy")
    assert (answer.status_code, answer.headers["x-strangler-backend"]) == (200, "legacy")
    assert migrated_counts(gateway, "GET /busy") == (1, 1)


async def test_a_failed_post_gets_a_500_in_the_apps_shape_marked_migrated(
    guarded: tuple[Gateway, httpx.AsyncClient],
) -> None:
    """The port raises on a POST (which may have changed something): not asked again; a JSON
    500 marked migrated, not the framework's bare text without the backend header."""
    gateway, client = guarded
    answer = await client.post("/work", json={"x": 1})
    assert answer.status_code == 500
    assert answer.json() == {"error": "internal server error"}
    assert answer.headers["x-strangler-backend"] == "migrated"
    assert migrated_counts(gateway, "POST /work") == (1, 1)


async def test_a_get_with_a_body_is_not_asked_again(
    guarded: tuple[Gateway, httpx.AsyncClient],
) -> None:
    """A GET carrying a body is not retried: a 500 in the apps' shape, marked migrated."""
    _, client = guarded
    answer = await client.request("GET", "/work", content=b"payload")
    assert (answer.status_code, answer.headers["x-strangler-backend"]) == (500, "migrated")


async def test_the_ports_own_5xx_to_a_post_passes_as_it_is(
    guarded: tuple[Gateway, httpx.AsyncClient],
) -> None:
    """The port's own 503 body to a POST is its answer: kept, marked migrated."""
    _, client = guarded
    answer = await client.post("/busy")
    assert (answer.status_code, answer.json()) == (503, {"error": "try later"})
    assert answer.headers["x-strangler-backend"] == "migrated"


async def test_good_answers_pass_untouched(guarded: tuple[Gateway, httpx.AsyncClient]) -> None:
    """A migrated answer under 500 is the client's, as it comes."""
    _, client = guarded
    answer = await client.get("/fine")
    assert (answer.json(), answer.headers["x-strangler-backend"]) == (
        {"app": "migrated"},
        "migrated",
    )


async def test_unguarded_endpoints_keep_the_ports_failure() -> None:
    """Without the guard over it, the port's failed GET reaches the client as it was."""
    async for _, client in started(["GET /fine"]):
        answer = await client.get("/work")
        assert answer.status_code == 500
        assert answer.text == "Internal Server Error"


async def test_a_retry_on_legacy_counts_against_legacys_capacity() -> None:
    """A retry on legacy is one of legacy's requests in flight; with legacy full (one thread,
    no queue), the next failed GET is not asked of legacy: the client gets the 500 in the
    apps' shape, marked migrated, at once (issue #25, review item 8)."""
    reached.clear()
    release.clear()
    async for gateway, client in started(["*"], legacy_threads=1, legacy_queue=0):
        first = asyncio.ensure_future(client.get("/stuck"))
        try:
            await wait_until_async(reached.is_set, what="the retry on legacy")
            assert gateway._busy[Backend.LEGACY] == 1
            second = await asyncio.wait_for(client.get("/stuck"), 5)
            assert (second.status_code, second.headers["x-strangler-backend"]) == (500, "migrated")
            assert second.json() == {"error": "internal server error"}
        finally:
            release.set()
            answer = await first
        assert (answer.status_code, answer.headers["x-strangler-backend"]) == (200, "legacy")
        assert gateway._busy[Backend.LEGACY] == 0
        assert migrated_counts(gateway, "GET /stuck") == (2, 2)


async def test_a_guarded_endpoint_with_a_shadow_share_still_retries_on_legacy() -> None:
    """An endpoint with a shadow share: its requests that are not shadowed get the guard's
    retry on legacy as any other (issue #25, review item 7)."""
    async for gateway, client in started(["*"]):
        gateway.runtime.service.shadow("GET /busy", 1, actor="t", reason="compare")
        gateway.watcher.refresh()
        assert gateway.watcher.snapshot.flags["GET /busy"].shadow
        gateway.shadow.wants = lambda *_: False  # type: ignore[method-assign,union-attr]
        answer = await client.get("/busy")
        assert (answer.status_code, answer.headers["x-strangler-backend"]) == (200, "legacy")
        assert migrated_counts(gateway, "GET /busy") == (1, 1)
