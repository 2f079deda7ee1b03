"""Rollouts and the guard, moved along by the conductor (strangler.rollout.conductor; the
rollout service and the guard through it), in process with the clock in the test's hands (#14).

The gateway's own conductor thread is stopped after the first request; the tests call
`tick(now)` with the times they choose, on real requests counted by the real metrics.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from strangler.assembly import create_gateway
from strangler.gateway.dispatch import Gateway
from strangler.rollout.conductor import Conductor
from strangler.rollout.errors import InvalidPlan, NoRollout, RolloutError
from strangler.rollout.plan import Criteria, Rollout, State
from tests.test_apps import rollout_pair

ENDPOINT = "GET /work"


@pytest.fixture
def fail_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "fail"
    monkeypatch.setenv("ROLLOUT_FAIL_FILE", str(path))
    return path


async def started(**options: Any) -> AsyncIterator[tuple[Gateway, httpx.AsyncClient]]:
    gateway = create_gateway(
        rollout_pair.legacy, rollout_pair.migrated, "memory:", sticky="header:x-user", **options
    )
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://g") as client:
        await client.get("/other")  # starts the gateway's threads...
        gateway.runtime.conductor.stop()  # ...and the test ticks the conductor itself
        yield gateway, client
    gateway.close()


@pytest.fixture
async def gw() -> AsyncIterator[tuple[Gateway, httpx.AsyncClient]]:
    async for pair in started():
        yield pair


async def traffic(client: httpx.AsyncClient, count: int) -> None:
    """`count` requests from new callers, routed by the store's flags as they are now."""
    gateway = client._transport.app  # type: ignore[attr-defined]
    gateway.watcher.refresh()  # the poll thread would, within 0.2 s
    for i in range(count):
        await client.get("/work", headers={"x-user": f"user-{i}-{time.monotonic_ns()}"})


def start(gateway: Gateway, steps: tuple[float, ...] = (10, 50, 100), **criteria: Any) -> Rollout:
    return gateway.runtime.rollouts.start(
        ENDPOINT, steps, 60.0, 20, Criteria(**criteria), actor="ann", reason="ship it"
    )


def current(gateway: Gateway) -> Rollout:
    return gateway.runtime.rollouts.get(ENDPOINT)


def routing(gateway: Gateway) -> str:
    return gateway.runtime.service.store.snapshot().flags[ENDPOINT].describe()


async def test_a_healthy_step_is_promoted_each_interval_until_complete(
    gw: tuple[Gateway, httpx.AsyncClient],
) -> None:
    gateway, client = gw
    rollout = start(gateway)
    assert routing(gateway) == "canary 10%"
    await traffic(client, 400)
    gateway.runtime.conductor.tick(rollout.judge_at - 1)  # healthy, but the interval is not over
    assert current(gateway).step == 0
    gateway.runtime.conductor.tick(rollout.judge_at)
    assert routing(gateway) == "canary 50%"
    await traffic(client, 200)
    gateway.runtime.conductor.tick(current(gateway).judge_at)
    assert routing(gateway) == "migrated"
    await traffic(client, 100)  # legacy has none now: its figures from the step before stand
    gateway.runtime.conductor.tick(current(gateway).judge_at)
    assert current(gateway).state is State.COMPLETED
    moves = gateway.runtime.service.history(ENDPOINT)
    assert [m.actor for m in moves] == ["strangler rollout", "strangler rollout", "ann"]
    assert moves[0].reason.startswith("rollout step 3/3: 50% -> 100%, healthy over 1m")
    assert "vs legacy 0.00%" in moves[0].reason
    assert "p99" in moves[0].reason
    assert moves[2].reason.startswith("rollout started (steps 10,50,100, every 1m")


async def test_too_few_requests_hold_the_step_and_count_on(
    gw: tuple[Gateway, httpx.AsyncClient],
) -> None:
    gateway, client = gw
    rollout = start(gateway)
    gateway.runtime.conductor.tick(rollout.judge_at)
    held = current(gateway)
    assert (held.step, held.state) == (0, State.RUNNING)
    assert held.judge_at == pytest.approx(rollout.judge_at + 60)
    assert held.events[-1]["what"] == "hold"
    assert "too few migrated requests (0 of 20)" in held.events[-1]["detail"]
    await traffic(client, 400)  # counted with what came before: the baseline stays
    gateway.runtime.conductor.tick(held.judge_at)
    assert routing(gateway) == "canary 50%"


async def test_a_failing_port_is_rolled_back_as_soon_as_the_proof_is_in(
    gw: tuple[Gateway, httpx.AsyncClient], fail_file: Path
) -> None:
    gateway, client = gw
    rollout = start(gateway, steps=(50, 100))
    fail_file.touch()  # noqa: ASYNC240
    await traffic(client, 1000)  # ~50 of ~500 migrated answers 5xx, 0 of ~500 legacy's
    gateway.runtime.conductor.tick(rollout.step_started + 1)  # long before the interval is over
    assert current(gateway).state is State.ROLLED_BACK
    assert routing(gateway) == "legacy"
    newest = gateway.runtime.service.history(ENDPOINT)[0]
    assert newest.actor == "strangler rollout"
    assert newest.reason.startswith("rollout rolled back at 50% after 1s: 5xx rate breached:")
    gateway.runtime.conductor.tick(rollout.judge_at)  # a rolled-back plan is judged no more
    assert len(gateway.runtime.service.history(ENDPOINT)) == 2


async def test_a_flag_moved_by_hand_pauses_the_rollout_and_resume_takes_it_back(
    gw: tuple[Gateway, httpx.AsyncClient],
) -> None:
    gateway, client = gw
    start(gateway)
    gateway.runtime.service.set(ENDPOINT, "canary", 30, actor="bob", reason="my call")
    gateway.runtime.conductor.tick()
    paused = current(gateway)
    assert paused.state is State.PAUSED
    assert "changed outside the rollout (now canary 30%" in paused.events[-1]["detail"]
    assert routing(gateway) == "canary 30%"  # the operator's flag stands
    resumed = gateway.runtime.rollouts.resume(ENDPOINT, actor="bob", reason="go on")
    assert resumed.state is State.RUNNING
    assert routing(gateway) == "canary 10%"
    await traffic(client, 400)
    gateway.runtime.conductor.tick(resumed.judge_at)
    assert routing(gateway) == "canary 50%"


async def test_pause_abort_and_the_refusals(gw: tuple[Gateway, httpx.AsyncClient]) -> None:
    gateway, client = gw
    rollout = start(gateway)
    with pytest.raises(RolloutError, match="has a rollout running at 10%; abort it first"):
        start(gateway)
    gateway.runtime.rollouts.pause(ENDPOINT, actor="ann", reason="lunch")
    await traffic(client, 400)
    gateway.runtime.conductor.tick(rollout.judge_at)  # paused: not judged
    assert routing(gateway) == "canary 10%"
    with pytest.raises(NoRollout, match="is paused, not running"):
        gateway.runtime.rollouts.pause(ENDPOINT, actor="ann", reason="again")
    aborted = gateway.runtime.rollouts.abort(ENDPOINT, actor="ann", reason="not today")
    assert aborted.state is State.ABORTED
    assert routing(gateway) == "legacy"
    assert gateway.runtime.service.history(ENDPOINT)[0].reason == "rollout aborted: not today"
    with pytest.raises(NoRollout, match="is aborted already"):
        gateway.runtime.rollouts.abort(ENDPOINT, actor="ann", reason="again")
    assert start(gateway).state is State.RUNNING  # a finished plan can be started afresh
    with pytest.raises(InvalidPlan, match="served by one app only"):
        gateway.runtime.rollouts.start(
            "GET /legacy-only", (10,), 60, 1, Criteria(), actor="a", reason="r"
        )
    with pytest.raises(InvalidPlan, match="each must be larger than the last"):
        gateway.runtime.rollouts.start(
            "POST /work", (10, 5), 60, 1, Criteria(), actor="a", reason="r"
        )


async def test_only_the_lease_holder_judges(gw: tuple[Gateway, httpx.AsyncClient]) -> None:
    """Two workers on one store: the one that took the plan's lease judges; the other waits."""
    gateway, client = gw
    rollout = start(gateway)
    other = Conductor(gateway.runtime.rollouts, "another-worker")
    await traffic(client, 400)
    assert gateway.runtime.service.store.lease(f"rollout {ENDPOINT}", "another-worker", 60)
    gateway.runtime.conductor.tick(rollout.judge_at)
    assert routing(gateway) == "canary 10%"  # not this worker's to judge
    other.tick(rollout.judge_at)
    assert routing(gateway) == "canary 50%"


async def test_the_guard_sends_a_failing_migrated_endpoint_back_to_legacy(
    fail_file: Path,
) -> None:
    guard = {"guard_max_error_rate": 5.0, "guard_window": 60.0, "guard_min_requests": 50}
    async for gateway, client in started(guard=["*"], **guard):
        gateway.runtime.service.set(ENDPOINT, "migrated", actor="ann", reason="ported")
        now = time.time()
        gateway.runtime.conductor.tick(now)  # the guard's first look: its window starts here
        await traffic(client, 30)
        fail_file.touch()  # noqa: ASYNC240
        await traffic(client, 10)
        gateway.runtime.conductor.tick(now + 1)
        assert routing(gateway) == "migrated"  # fewer than min_requests: no verdict yet
        await traffic(client, 1200)  # ~120 of 1200 answers 5xx: conclusively over 5 %
        gateway.runtime.conductor.tick(now + 2)
        assert routing(gateway) == "legacy"
        newest = gateway.runtime.service.history(ENDPOINT)[0]
        assert newest.actor == "strangler guard"
        assert newest.reason.startswith("guard: migrated answered 5xx to ")
        assert "(conclusively: at least " in newest.reason
        assert "max 5%); back to legacy" in newest.reason
        fail_file.unlink()  # noqa: ASYNC240 -- fixed: the operator sends it back, and the slate is clean
        gateway.runtime.service.set(ENDPOINT, "migrated", actor="ann", reason="fixed")
        gateway.runtime.conductor.tick(now + 3)
        await traffic(client, 100)
        gateway.runtime.conductor.tick(now + 4)
        assert routing(gateway) == "migrated"


async def test_a_move_made_while_an_operator_aborted_follows_the_abort(
    gw: tuple[Gateway, httpx.AsyncClient],
) -> None:
    """The judge read the plan, the operator aborted, the judge promoted: the judge's write of
    the plan fails, and the flag goes where the aborted plan says (legacy), not where it moved."""
    gateway, client = gw
    rollout = start(gateway)
    await traffic(client, 400)
    stale = current(gateway)  # what the judge read before the operator acted
    gateway.runtime.rollouts.abort(ENDPOINT, actor="ann", reason="stop")
    fleet = gateway.runtime.rollouts.fleet.read()
    gateway.runtime.conductor._judge(stale, fleet, rollout.judge_at)
    assert routing(gateway) == "legacy"
    assert current(gateway).state is State.ABORTED
