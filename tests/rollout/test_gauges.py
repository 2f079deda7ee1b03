"""Rollouts on the gateway's /metrics and its webhooks, wired by the assembly (#25): the state
gauges and event counter (strangler.rollout.gauges), and a flag change told to a receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from strangler.assembly import create_gateway
from strangler.errors import ConfigError
from strangler.gateway.dispatch import Gateway
from strangler.rollout.plan import Criteria
from tests.support.waiting import wait_until_async
from tests.support.webhooks import Receiver, receiving
from tests.test_apps import rollout_pair

ENDPOINT = "GET /work"
ADMIN = {"Authorization": "Bearer t"}


@pytest.fixture
def receiver() -> AsyncIterator[Receiver]:
    with receiving() as receiver:
        yield receiver  # type: ignore[misc]


@pytest.fixture
async def gw(receiver: Receiver) -> AsyncIterator[tuple[Gateway, httpx.AsyncClient]]:
    hook = f"http://127.0.0.1:{receiver.port}/hook"
    gateway = create_gateway(
        rollout_pair.legacy, rollout_pair.migrated, "memory:", admin_token="t", webhooks=[hook]
    )
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://g") as client:
        await client.get("/other")  # starts the gateway's threads, the clerk's among them
        yield gateway, client
    gateway.close()


async def test_a_rollout_shows_on_metrics_and_its_events_reach_the_webhook(
    gw: tuple[Gateway, httpx.AsyncClient], receiver: Receiver
) -> None:
    """A started and paused rollout is on /metrics as gauges and counted events, and the
    webhook is told of both, in order."""
    gateway, client = gw
    await wait_until_async(lambda: gateway.runtime.clerk.follower, what="the clerk's first look")
    rollouts = gateway.runtime.rollouts
    rollouts.start(ENDPOINT, (10, 50, 100), 60.0, 20, Criteria(), actor="ann", reason="go")
    rollouts.pause(ENDPOINT, actor="ann", reason="wait")
    await wait_until_async(lambda: len(receiver.bodies) >= 2, what="two events posted")
    assert [b["kind"] for b in receiver.bodies] == ["started", "paused"]
    page = (await client.get("/_strangler/metrics", headers=ADMIN)).text
    assert 'strangler_rollout_step{endpoint="GET /work"} 1.0' in page
    assert 'strangler_rollout_percentage{endpoint="GET /work"} 10.0' in page
    assert 'strangler_rollout_state{endpoint="GET /work",state="paused"} 1.0' in page
    assert 'strangler_rollout_state{endpoint="GET /work",state="running"} 0.0' in page
    assert 'strangler_rollout_events_total{endpoint="GET /work",kind="paused"} 1.0' in page


def test_a_webhook_setting_that_is_not_a_url_is_refused() -> None:
    """`webhooks` takes http(s) URLs or slack:URL; anything else is a ConfigError at start."""
    with pytest.raises(ConfigError, match="webhooks"):
        create_gateway(rollout_pair.legacy, rollout_pair.migrated, webhooks=["hooks.example"])
