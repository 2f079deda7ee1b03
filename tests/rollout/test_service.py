"""Operators steering rollouts (strangler.rollout.service): steps gated for approval, approve,
promote by hand, and the refusal to cut an endpoint's traffic back unasked (#25)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from strangler.assembly import create_gateway
from strangler.gateway.dispatch import Gateway
from strangler.rollout.errors import InvalidPlan, NoRollout, RolloutError
from strangler.rollout.plan import Criteria, Rollout, State
from tests.test_apps import rollout_pair

ENDPOINT = "GET /work"


@pytest.fixture
async def gw() -> AsyncIterator[tuple[Gateway, httpx.AsyncClient]]:
    gateway = create_gateway(
        rollout_pair.legacy, rollout_pair.migrated, "memory:", sticky="header:x-user"
    )
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://g") as client:
        await client.get("/other")  # starts the gateway's threads...
        gateway.runtime.conductor.stop()  # ...and the test ticks the conductor itself
        yield gateway, client
    gateway.close()


async def traffic(client: httpx.AsyncClient, count: int) -> None:
    gateway = client._transport.app  # type: ignore[attr-defined]
    gateway.watcher.refresh()
    for i in range(count):
        await client.get("/work", headers={"x-user": f"user-{i}-{time.monotonic_ns()}"})


def start(gateway: Gateway, steps: tuple[float, ...] = (10, 50, 100), **options: Any) -> Rollout:
    return gateway.runtime.rollouts.start(
        ENDPOINT, steps, 60.0, 20, Criteria(), actor="ann", reason="ship it", **options
    )


def current(gateway: Gateway) -> Rollout:
    return gateway.runtime.rollouts.get(ENDPOINT)


def routing(gateway: Gateway) -> str:
    return gateway.runtime.service.store.snapshot().flags[ENDPOINT].describe()


async def test_a_gated_step_waits_for_approval_then_runs_on(
    gw: tuple[Gateway, httpx.AsyncClient],
) -> None:
    """A healthy step before a gated one holds the flag until a person approves the next."""
    gateway, client = gw
    rollout = start(gateway, approve_at=(50,))
    await traffic(client, 400)
    gateway.runtime.conductor.tick(rollout.judge_at)
    waiting = current(gateway)
    assert (waiting.state, waiting.step, routing(gateway)) == (
        State.AWAITING_APPROVAL,
        0,
        "canary 10%",
    )
    assert waiting.events[-1]["what"] == "awaiting approval"
    assert "50% waits for approval" in waiting.events[-1]["detail"]
    gateway.runtime.conductor.tick(rollout.judge_at + 600)  # no one approved: it stays
    assert routing(gateway) == "canary 10%"
    approved = gateway.runtime.rollouts.approve(ENDPOINT, actor="bob", reason="looks good")
    assert (approved.state, approved.step, routing(gateway)) == (State.RUNNING, 1, "canary 50%")
    change = gateway.runtime.service.history(ENDPOINT)[0]
    assert change.actor == "bob"
    assert "10% -> 50%, approved by bob: looks good" in change.reason
    assert current(gateway).events[-1]["what"] == "approved"


async def test_approve_is_refused_when_nothing_waits(
    gw: tuple[Gateway, httpx.AsyncClient],
) -> None:
    """Approving a rollout that runs (nothing gated) is refused and changes nothing."""
    gateway, _ = gw
    start(gateway, approve_at=(50,))
    with pytest.raises(NoRollout, match="running at 10%, not awaiting approval"):
        gateway.runtime.rollouts.approve(ENDPOINT, actor="bob", reason="go")
    assert routing(gateway) == "canary 10%"


def test_a_gate_must_be_a_later_step() -> None:
    """`approve_at` names a step of the plan after the first, else the plan is refused."""
    from strangler.rollout.plan import Plan

    with pytest.raises(InvalidPlan, match="approve at 30%: give one of the steps after the first"):
        Plan(ENDPOINT, (10, 50, 100), 60.0, 20, Criteria(), (30,)).check()
    with pytest.raises(InvalidPlan, match="approve at 10%"):
        Plan(ENDPOINT, (10, 50, 100), 60.0, 20, Criteria(), (10,)).check()


async def test_promote_moves_to_the_next_step_now_and_completes_at_the_last(
    gw: tuple[Gateway, httpx.AsyncClient],
) -> None:
    """Promote moves the flag one step at once, unjudged, and completes a rollout at its end."""
    gateway, _ = gw
    start(gateway, steps=(10, 100))
    promoted = gateway.runtime.rollouts.promote(ENDPOINT, actor="bob", reason="urgent fix")
    assert (promoted.state, promoted.step, routing(gateway)) == (State.RUNNING, 1, "migrated")
    done = gateway.runtime.rollouts.promote(ENDPOINT, actor="bob", reason="all good")
    assert (done.state, routing(gateway)) == (State.COMPLETED, "migrated")
    with pytest.raises(NoRollout, match="completed; start another"):
        gateway.runtime.rollouts.promote(ENDPOINT, actor="bob", reason="again")


async def test_promote_on_a_paused_rollout_resumes_it_at_the_next_step(
    gw: tuple[Gateway, httpx.AsyncClient],
) -> None:
    """Promoting a paused rollout moves it a step and runs it on from there, as
    docs/rollouts.md says (#25: the docs did not say it resumes)."""
    gateway, _ = gw
    start(gateway)
    gateway.runtime.rollouts.pause(ENDPOINT, actor="bob", reason="lunch")
    promoted = gateway.runtime.rollouts.promote(ENDPOINT, actor="bob", reason="back")
    assert (promoted.state, promoted.step, routing(gateway)) == (State.RUNNING, 1, "canary 50%")


async def test_starting_on_a_migrated_endpoint_refuses_to_cut_it_back(
    gw: tuple[Gateway, httpx.AsyncClient],
) -> None:
    """A rollout started on an endpoint fully on migrated is refused unless from_start (#25)."""
    gateway, _ = gw
    gateway.runtime.service.set(ENDPOINT, "migrated", actor="ann", reason="ported")
    with pytest.raises(RolloutError, match=r"sends 100% to migrated now .* would cut that back"):
        start(gateway)
    assert routing(gateway) == "migrated"
    assert ENDPOINT not in gateway.runtime.rollouts.load()
    start(gateway, from_start=True)
    assert routing(gateway) == "canary 10%"


async def test_starting_below_a_canary_refuses_but_at_or_above_it_starts(
    gw: tuple[Gateway, httpx.AsyncClient],
) -> None:
    """A first step below the canary's share is refused; one at or above it starts."""
    gateway, _ = gw
    gateway.runtime.service.set(ENDPOINT, "canary", 25, actor="ann", reason="trying")
    with pytest.raises(RolloutError, match="--steps 25,100"):
        start(gateway)
    start(gateway, steps=(25, 100))
    assert routing(gateway) == "canary 25%"
