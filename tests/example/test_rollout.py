"""A rollout of the worked example's POST /predict behind an in-process gateway, judged by the
real conductor on real requests (#25): legacy answers 500 to string features and the faithful
port answers the same; shadowed, the rollout starts with its shadow step and is promoted to the
end, those 500s never held against the port."""

from __future__ import annotations

import asyncio
import random
import time

import httpx

from migrated.domain import prediction_cache
from strangler.assembly import create_gateway
from strangler.gateway.dispatch import Gateway
from strangler.rollout.plan import Criteria, State
from strangler.settings import import_string
from strangler.shadow.tap import ShadowLimits, ShadowTap

ENDPOINT = "POST /predict"
PER_STEP = 100  # requests between two judgments
STRING_FEATURES = 20  # one request in this many sends string features: legacy's own 500


def body(n: int, chosen: random.Random) -> dict[str, object]:
    if n % STRING_FEATURES == 0:
        return {"features": ["a"] * 10}
    return {"features": [round(chosen.uniform(-3, 3), 3) for _ in range(10)]}


async def settled(tap: ShadowTap, total: int) -> None:
    """Until the tap dealt with `total` shadowed requests (at most 30 s)."""
    record = tap.records[ENDPOINT]
    deadline = time.monotonic() + 30
    while record.compared + record.failed + record.timed_out + record.busy < total:
        assert time.monotonic() < deadline, tap.report()
        await asyncio.sleep(0.02)


async def test_a_faithful_port_with_legacys_own_500s_is_promoted_to_the_end() -> None:
    """Shadow step, 25 %, 50 %, 100 %: each judged healthy and promoted (or held, never rolled
    back), completed; the shared 500s are named in the reasons as not counted."""
    prediction_cache.clear()
    legacy = import_string("legacy.app:app")
    migrated = import_string("migrated.app:app")
    tap = ShadowTap(limits=ShadowLimits(max_cpu=float("inf"), timeout=30))
    gateway: Gateway = create_gateway(
        legacy, migrated, "memory:", shadow=tap, sticky="header:x-user"
    )
    chosen = random.Random(25)
    sent = 0
    try:
        transport = httpx.ASGITransport(app=gateway)
        async with (
            migrated.router.lifespan_context(migrated),
            httpx.AsyncClient(transport=transport, base_url="http://g") as client,
        ):
            login = await client.post("/login", json={"username": "admin", "password": "password"})
            auth = {"Authorization": f"Bearer {login.json()['token']}"}
            gateway.runtime.conductor.stop()  # the test ticks it, at the times it chooses
            service = gateway.runtime.service
            service.shadow(
                ENDPOINT,
                100,
                side_effect_free="a pure function of its input; its cache is bypassed in a sandbox",
                actor="test",
                reason="compare",
            )
            rollouts = gateway.runtime.rollouts
            rollout = rollouts.start(
                ENDPOINT,
                (25.0, 50.0, 100.0),
                60.0,
                20,
                Criteria(max_error_delta=1.0, max_p99_ratio=3.0, max_mismatch_rate=1.0),
                actor="ann",
                reason="the contract suite passes",
            )
            assert rollout.plan.steps == (0.0, 25.0, 50.0, 100.0)  # shadowed: shadow step first
            for _ in range(8):  # a step over a max by chance (a busy machine's latency) holds
                if rollouts.get(ENDPOINT).state is not State.RUNNING:
                    break
                gateway.watcher.refresh()
                for _ in range(PER_STEP):
                    user = {"x-user": f"user-{sent}"}
                    answer = await client.post(
                        "/predict", json=body(sent, chosen), headers={**auth, **user}
                    )
                    assert answer.status_code == (500 if sent % STRING_FEATURES == 0 else 200)
                    sent += 1
                await settled(tap, sent)
                gateway.runtime.conductor.tick(rollouts.get(ENDPOINT).judge_at)
            done = rollouts.get(ENDPOINT)
    finally:
        gateway.close()
        prediction_cache.clear()
    events = [(e["what"], e["detail"]) for e in done.events]
    assert done.state is State.COMPLETED, events
    assert [what for what, _ in events if what != "hold"] == [
        "started",
        "promoted",
        "promoted",
        "promoted",
        "completed",
    ]
    reasons = " ".join(detail for _, detail in events)
    assert "also legacy's answer to the same request, not counted" in reasons
    assert "rolled back" not in reasons
