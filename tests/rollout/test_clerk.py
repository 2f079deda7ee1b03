"""The clerk applies scheduled flag changes when due, in a running gateway (#25)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest

from strangler.assembly import create_gateway
from strangler.flags.schedule import Schedule
from strangler.gateway.dispatch import Gateway
from tests.support.waiting import wait_until_async
from tests.test_apps import rollout_pair

ENDPOINT = "GET /work"


@pytest.fixture
async def gw() -> AsyncIterator[tuple[Gateway, httpx.AsyncClient]]:
    gateway = create_gateway(rollout_pair.legacy, rollout_pair.migrated, "memory:")
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://g") as client:
        await client.get("/other")  # starts the gateway's threads, the clerk's among them
        yield gateway, client
    gateway.close()


async def test_the_running_gateway_applies_a_change_when_its_time_comes(
    gw: tuple[Gateway, httpx.AsyncClient],
) -> None:
    """A change scheduled 1 s ahead is made by the gateway's own clerk, and routes requests."""
    gateway, client = gw
    schedule = Schedule(gateway.runtime.service)
    schedule.add(ENDPOINT, "migrated", None, time.time() + 1, actor="ann", reason="at once")
    await wait_until_async(lambda: not schedule.pending(), what="the change applied")
    gateway.watcher.refresh()
    assert (await client.get("/work")).headers["x-strangler-backend"] == "migrated"
    entry = gateway.runtime.service.history(ENDPOINT)[0]
    assert (entry.actor, entry.after.describe()) == ("ann", "migrated")
    assert "at once (scheduled " in entry.reason


async def test_a_change_not_yet_due_is_left_alone(gw: tuple[Gateway, httpx.AsyncClient]) -> None:
    """A tick before a change's time applies nothing."""
    gateway, _ = gw
    schedule = Schedule(gateway.runtime.service)
    change = schedule.add(ENDPOINT, "migrated", None, time.time() + 60, actor="a", reason="r")
    gateway.runtime.clerk.tick(change.at - 1)
    assert [c.id for c in schedule.pending()] == [change.id]
    gateway.runtime.clerk.tick(change.at)
    assert schedule.pending() == []
