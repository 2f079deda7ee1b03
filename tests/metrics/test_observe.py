"""Per-request metrics, request ids and the request log, in process (#14)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from flask import Flask, jsonify, request
from prometheus_client.parser import text_string_to_metric_families

from strangler.assembly import create_gateway
from strangler.gateway.dispatch import Gateway
from strangler.rollout.plan import Criteria

TOKEN = "observe-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}

legacy = Flask(__name__)


@legacy.get("/ok")
def legacy_ok() -> Any:
    return jsonify(app="legacy", seen=request.headers.get("X-Request-ID"))


@legacy.get("/boom")
def legacy_boom() -> Any:
    raise RuntimeError("legacy broke")


migrated = FastAPI()


@migrated.get("/ok")
async def migrated_ok(request: Request) -> Any:
    return {"app": "migrated", "seen": request.headers.get("x-request-id")}


@migrated.get("/boom")
async def migrated_boom() -> Any:
    raise RuntimeError("migrated broke")


@migrated.get("/own-id")
async def own_id() -> Response:
    return Response("{}", headers={"X-Request-ID": "the-app-s-own"})


async def client_for(**options: Any) -> AsyncIterator[tuple[Gateway, httpx.AsyncClient]]:
    gateway = create_gateway(legacy, migrated, "memory:", admin_token=TOKEN, **options)
    transport = httpx.ASGITransport(app=gateway, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://g") as client:
        yield gateway, client
    gateway.close()


@pytest.fixture
async def gw() -> AsyncIterator[tuple[Gateway, httpx.AsyncClient]]:
    async for pair in client_for():
        yield pair


async def set_flag(
    client: httpx.AsyncClient, endpoint: str, mode: str, pct: float | None = None
) -> None:
    body = {"endpoint": endpoint, "mode": mode, "percentage": pct, "reason": "test"}
    (await client.post("/_strangler/flags", json=body, headers=ADMIN)).raise_for_status()


def counts(text: str) -> dict[tuple[str, ...], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "strangler_requests_total":
                key = (
                    s.labels["endpoint"],
                    s.labels["backend"],
                    s.labels["reason"],
                    s.labels["code"],
                )
                found[key] = s.value
            elif s.name == "strangler_request_duration_seconds_count":
                found[("count", s.labels["endpoint"], s.labels["backend"])] = s.value
    return found


async def test_a_request_id_is_made_passed_to_the_app_and_returned(
    gw: tuple[Gateway, httpx.AsyncClient],
) -> None:
    """No id sent: one is made, the app sees it, the client gets it back; each is new."""
    _, client = gw
    first, second = await client.get("/ok"), await client.get("/ok")
    assert first.headers["x-request-id"] == first.json()["seen"]
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    await set_flag(client, "GET /ok", "migrated")
    third = await client.get("/ok")
    assert third.json()["app"] == "migrated"
    assert third.headers["x-request-id"] == third.json()["seen"]


@pytest.mark.parametrize(
    ("sent", "kept"),
    [("abc-123", True), ("trace:9f/x=1", True), ('has"quote', False), ("a" * 201, False)],
)
async def test_a_sound_request_id_is_kept_and_an_unsound_one_replaced(
    gw: tuple[Gateway, httpx.AsyncClient], sent: str, kept: bool
) -> None:
    """The client's id is kept when printable ASCII without quotes or backslashes (<= 200);
    otherwise the app and the client get a new one, never the bad one."""
    _, client = gw
    answer = await client.get("/ok", headers={"X-Request-ID": sent})
    assert (answer.headers["x-request-id"] == sent) is kept
    assert answer.json()["seen"] == answer.headers["x-request-id"]


async def test_an_app_that_sets_its_own_request_id_keeps_it(
    gw: tuple[Gateway, httpx.AsyncClient],
) -> None:
    _, client = gw
    answer = await client.get("/own-id")
    assert answer.headers.get_list("x-request-id") == ["the-app-s-own"]


async def test_request_ids_can_be_turned_off() -> None:
    async for _, client in client_for(request_id_header=None):
        answer = await client.get("/ok")
        assert "x-request-id" not in answer.headers
        assert answer.json()["seen"] is None


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


async def test_the_request_log_has_one_json_line_per_request(tmp_path: Path) -> None:
    log = tmp_path / "requests.log"
    async for gateway, client in client_for(request_log=str(log), sticky="header:x-user"):
        await set_flag(client, "GET /ok", "canary", 50)
        answers = [await client.get("/ok", headers={"x-user": f"u{i}"}) for i in range(20)]
        await client.get("/nowhere")
        assert gateway.runtime.request_log is not None
        gateway.runtime.request_log.flush()
        lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(lines) == 21
    for line, answer in zip(lines, answers, strict=False):
        assert line["request_id"] == answer.headers["x-request-id"]
        assert line["endpoint"] == "GET /ok"
        assert line["method"] == "GET"
        assert line["backend"] == answer.headers["x-strangler-backend"]
        assert line["reason"] == "split"
        assert 0 <= line["bucket"] < 10_000
        assert line["status"] == 200
        assert line["ms"] > 0
        assert line["flags"] == 1
    assert {line["backend"] for line in lines[:20]} == {"legacy", "migrated"}
    assert lines[20]["endpoint"] is None
    assert lines[20]["status"] == 404


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
