"""The gateway's Prometheus metrics (strangler.metrics.counters), in process (#14): what each
request adds, and the page under the admin prefix (strangler.metrics.exposition)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from strangler.assembly import create_gateway
from strangler.gateway.dispatch import Gateway
from strangler.rollout.plan import Criteria
from tests.support.observed import ADMIN, TOKEN, client_for, counts, set_flag


@pytest.fixture
async def gw() -> AsyncIterator[tuple[Gateway, httpx.AsyncClient]]:
    async for pair in client_for():
        yield pair


async def test_metrics_count_each_request_by_endpoint_backend_reason_and_code(
    gw: tuple[Gateway, httpx.AsyncClient],
) -> None:
    """Every answer is counted once, under its route key; unknown paths under (unmatched);
    an app that raised counts as 5xx on its backend."""
    _, client = gw
    for _ in range(3):
        await client.get("/ok")
    await client.get("/no/such/path")
    await client.get("/boom")
    await set_flag(client, "GET /boom", "migrated")
    await client.get("/boom")
    await client.get(
        "/ok", headers={"X-Strangler-Force-Backend": "migrated", "X-Strangler-Admin-Token": TOKEN}
    )
    found = counts((await client.get("/_strangler/metrics", headers=ADMIN)).text)
    assert found[("GET /ok", "legacy", "default", "2xx")] == 3
    assert found[("GET /ok", "migrated", "forced", "2xx")] == 1
    assert found[("(unmatched)", "legacy", "fallthrough", "4xx")] == 1
    assert found[("GET /boom", "legacy", "default", "5xx")] == 1
    assert found[("GET /boom", "migrated", "static", "5xx")] == 1
    assert found[("count", "GET /ok", "legacy")] == 3
    assert sum(v for k, v in found.items() if k[0] != "count") == 7  # admin calls not counted


async def test_metrics_need_the_credential_unless_public() -> None:
    async for _, client in client_for():
        assert (await client.get("/_strangler/metrics")).status_code == 401
        assert (await client.get("/_strangler/metrics", headers=ADMIN)).status_code == 200
    async for _, client in client_for(metrics_public=True):
        answer = await client.get("/_strangler/metrics")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain")


async def test_without_metrics_nothing_is_counted_and_the_page_says_so() -> None:
    async for gateway, client in client_for(metrics=False):
        assert gateway.runtime.metrics is None
        await client.get("/ok")
        answer = await client.get("/_strangler/metrics", headers=ADMIN)
        assert answer.status_code == 404
        assert "metrics = false" in answer.json()["error"]


async def test_the_flags_and_the_shed_answers_are_in_the_metrics() -> None:
    """The flag gauge shows each endpoint's migrated share; a request shed with 503 counts."""
    async for _, client in client_for(migrated_concurrency=0):
        await set_flag(client, "GET /ok", "canary", 25)
        await set_flag(client, "GET /boom", "migrated")
        await client.get("/boom")  # migrated may have none in flight: shed
        text = (await client.get("/_strangler/metrics", headers=ADMIN)).text
        assert 'strangler_flag_migrated_percentage{endpoint="GET /ok"} 25.0' in text
        assert 'strangler_flag_migrated_percentage{endpoint="GET /boom"} 100.0' in text
        assert counts(text)[("GET /boom", "migrated", "shed", "5xx")] == 1  # the gateway's


async def test_the_gateway_s_own_answers_are_not_held_against_the_backend() -> None:
    """A 503 the gateway sheds is counted (reason `shed`) but not as the backend's error in the
    totals the rollout judge and the guard read; a refused force header is counted as 401."""
    async for gateway, client in client_for(migrated_concurrency=0):
        await set_flag(client, "GET /boom", "migrated")
        for _ in range(3):
            assert (await client.get("/boom")).status_code == 503
        assert (
            await client.get("/ok", headers={"X-Strangler-Force-Backend": "x"})
        ).status_code == 401
        assert gateway.runtime.metrics is not None
        assert "GET /boom" not in gateway.runtime.metrics.totals()
        found = counts((await client.get("/_strangler/metrics", headers=ADMIN)).text)
        assert found[("GET /ok", "legacy", "default", "4xx")] == 1


async def test_on_httpbin_ids_reach_the_app_and_every_answer_is_counted() -> None:
    """An app nobody here wrote: httpbin sees the request id, its 5xx are counted under the
    route template, and a rollout of its one ported endpoint promotes on healthy figures."""
    import httpbin

    from tests.test_apps.httpbin_pair.port import app as port

    gateway = create_gateway(
        httpbin.app, port, "memory:", admin_token=TOKEN, sticky="header:x-user"
    )
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://g") as client:
        echoed = await client.get("/headers?show_env=1")  # httpbin hides it otherwise
        assert echoed.json()["headers"]["X-Request-Id"] == echoed.headers["x-request-id"]
        for code in (200, 500, 503):
            await client.get(f"/status/{code}")
        found = counts((await client.get("/_strangler/metrics", headers=ADMIN)).text)
        template = next(k for k in found if k[0].startswith("GET /status/"))[0]
        assert found[(template, "legacy", "only-backend", "5xx")] == 2
        assert found[(template, "legacy", "only-backend", "2xx")] == 1
        rollout = gateway.runtime.rollouts.start(
            "GET /uuid", (50, 100), 60, 10, Criteria(), actor="ann", reason="port /uuid"
        )
        gateway.watcher.refresh()
        gateway.runtime.conductor.stop()
        for user in range(100):
            await client.get("/uuid", headers={"x-user": f"user-{user}"})
        gateway.runtime.conductor.tick(rollout.judge_at)
        assert gateway.watcher.store.snapshot().flags["GET /uuid"].describe() == "migrated"
    gateway.close()


async def test_a_worker_s_totals_count_its_4xx_answers(
    gw: tuple[Gateway, httpx.AsyncClient],
) -> None:
    """The totals a worker publishes count 4xx answers apart from 5xx (#25: the dashboard)."""
    gateway, client = gw
    await client.get("/ok")
    await client.get("/no/such/path")
    await client.get("/boom")
    metrics = gateway.runtime.metrics
    assert metrics is not None
    totals = metrics.totals()
    assert totals["GET /ok"]["legacy"].client_errors == 0
    assert totals["(unmatched)"]["legacy"].client_errors == 1
    assert totals["GET /boom"]["legacy"].client_errors == 0
    assert totals["GET /boom"]["legacy"].errors == 1
