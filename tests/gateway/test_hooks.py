"""The request path composed by hand from its parts, and its hooks (strangler.gateway.hooks):
what an observer is told, and that a faulty one costs neither the request nor the others."""

from __future__ import annotations

import logging

import httpx
import pytest

from strangler.bridge.bridge import make_bridge
from strangler.credentials import Credentials
from strangler.flags.memory import MemoryFlagStore
from strangler.flags.model import Flag
from strangler.flags.watcher import FlagWatcher
from strangler.gateway.dispatch import Gateway
from strangler.routing.decision import Decision, Reason
from strangler.routing.inventory import discover
from strangler.types import Backend
from tests.test_apps import pair

Seen = tuple[str, str | None, Backend, Reason, int, bytes | None]


class Recorder:
    """An observer that keeps what it is told."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []

    def request_done(
        self,
        method: str,
        decision: Decision,
        backend: Backend,
        reason: Reason,
        status: int,
        seconds: float,
        request_id: bytes | None,
    ) -> None:
        assert seconds >= 0
        self.seen.append((method, decision.endpoint, backend, reason, status, request_id))


class Broken:
    def request_done(self, *args: object) -> None:
        raise RuntimeError("the observer's own fault")


def gateway(*observers: object) -> tuple[Gateway, MemoryFlagStore]:
    store = MemoryFlagStore()
    watcher = FlagWatcher(store)
    built = Gateway(
        make_bridge(pair.legacy),
        pair.migrated,
        discover(pair.legacy, pair.migrated),
        watcher,
        credentials=Credentials.parse(None, None, dev_mode=False),
        observers=observers,  # type: ignore[arg-type]
    )
    return built, store


async def test_every_observer_is_told_of_each_answered_request() -> None:
    """Each observer hears the method, endpoint, backend, reason, status and request id."""
    first, second = Recorder(), Recorder()
    built, store = gateway(first, second)
    store.set("GET /hello", Flag.build("migrated"), actor="t", reason="t")
    built.watcher.refresh()
    transport = httpx.ASGITransport(app=built)
    async with httpx.AsyncClient(transport=transport, base_url="http://g") as client:
        served = await client.get("/hello", headers={"X-Request-ID": "abc-1"})
        fallen = await client.get("/nowhere")
    assert served.json()["app"] == "migrated"
    assert fallen.status_code == 404
    expected = [
        ("GET", "GET /hello", Backend.MIGRATED, Reason.STATIC, 200, b"abc-1"),
        (
            "GET",
            None,
            Backend.LEGACY,
            Reason.FALLTHROUGH,
            404,
            fallen.headers["x-request-id"].encode(),
        ),
    ]
    assert first.seen == second.seen == expected


async def test_a_faulty_observer_costs_neither_the_request_nor_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An observer that raises is logged; the client's answer and the next observer are not
    affected."""
    after = Recorder()
    built, _ = gateway(Broken(), after)
    transport = httpx.ASGITransport(app=built)
    with caplog.at_level(logging.ERROR, logger="strangler.gateway"):
        async with httpx.AsyncClient(transport=transport, base_url="http://g") as client:
            answer = await client.get("/hello")
    assert answer.status_code == 200
    assert answer.headers["x-strangler-backend"] == "legacy"
    assert [s[4] for s in after.seen] == [200]
    assert "could not count or log a request" in caplog.text


async def test_a_refused_force_is_told_once_with_its_401(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A force header without the credential is answered 401, unmarked, and each observer
    hears it once as the routing's backend and reason; a faulty one costs nothing there too."""
    after = Recorder()
    built, _ = gateway(Broken(), after)
    transport = httpx.ASGITransport(app=built)
    headers = {"X-Strangler-Force-Backend": "migrated", "X-Request-ID": "abc-2"}
    with caplog.at_level(logging.ERROR, logger="strangler.gateway"):
        async with httpx.AsyncClient(transport=transport, base_url="http://g") as client:
            answer = await client.get("/hello", headers=headers)
    assert answer.status_code == 401
    assert "x-strangler-backend" not in answer.headers
    assert answer.headers["x-request-id"] == "abc-2"
    assert after.seen == [("GET", "GET /hello", Backend.LEGACY, Reason.DEFAULT, 401, b"abc-2")]
    assert "could not count or log a request" in caplog.text


async def test_without_an_admin_app_the_prefix_is_an_ordinary_path() -> None:
    """A gateway composed without an admin app serves the prefix like any other path (legacy's
    own 404), so the request path needs nothing of the admin API."""
    built, _ = gateway()
    transport = httpx.ASGITransport(app=built)
    async with httpx.AsyncClient(transport=transport, base_url="http://g") as client:
        answer = await client.get("/_strangler/health")
    assert answer.status_code == 404
    assert answer.headers["x-strangler-backend"] == "legacy"
