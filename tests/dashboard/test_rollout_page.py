"""The dashboard's rollout page and the overview's order and recent figures (#25, item 5)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from strangler.assembly import create_gateway, runtime_of
from strangler.gateway.dispatch import Gateway
from strangler.rollout.plan import Criteria, State
from tests.dashboard.test_app import TOKENS, UI, csrf_of, login
from tests.test_apps import rollout_pair


@pytest.fixture
async def gw() -> AsyncIterator[tuple[Gateway, httpx.AsyncClient]]:
    gateway = create_gateway(
        rollout_pair.legacy,
        rollout_pair.migrated,
        "memory:",
        admin_tokens=TOKENS,
        dashboard_hosts=["gw.test"],
    )
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="https://gw.test") as client:
        await login(client, "ann-secret-token")
        yield gateway, client
    gateway.close()


def start_gated(gateway: Gateway) -> None:
    gateway.runtime.rollouts.start(
        "GET /work",
        (10.0, 50.0, 100.0),
        60.0,
        5,
        Criteria(),
        actor="ann",
        reason="port verified",
        approve_at=(50.0,),
    )
    gateway.watcher.refresh()


async def act(client: httpx.AsyncClient, page: str, action: str, reason: str) -> str:
    body = {"endpoint": "GET /work", "action": action, "reason": reason, "csrf": csrf_of(page)}
    answer = await client.post(UI + "/rollout", data=body)
    assert answer.status_code == 303, answer.text
    assert "/rollout?endpoint=GET+%2Fwork" in answer.headers["location"]
    return (await client.get(answer.headers["location"])).text


async def test_the_overview_puts_the_endpoint_rolling_out_first_with_its_actions_folded(
    gw: tuple[Gateway, httpx.AsyncClient],
) -> None:
    """An endpoint under a rollout comes before those alphabetically ahead of it, tagged and
    linked to its rollout page; every row's forms are behind one control."""
    gateway, client = gw
    start_gated(gateway)
    page = (await client.get(UI + "/")).text
    rows = [line for line in page.splitlines() if "<tr data-endpoint=" in line]
    assert 'data-endpoint="GET /work"' in rows[0]
    assert "rollout running" in page
    assert "/rollout?endpoint=GET%20/work" in page
    assert page.count('<details class="actions">') == page.count('class="inline flag"')


async def test_the_rollout_page_pauses_resumes_and_approves_and_shows_the_store_s_state(
    gw: tuple[Gateway, httpx.AsyncClient],
) -> None:
    """Pause, resume, promote and approve from the rollout page change the plan in the store,
    and the page then shows that state (never a state of its own)."""
    gateway, client = gw
    start_gated(gateway)
    page = (await client.get(UI + "/rollout", params={"endpoint": "GET /work"})).text
    assert 'id="do-pause"' in page
    assert "next: 50.0%" in page
    assert "then waits for approval" in page
    page = await act(client, page, "pause", "looking at the logs")
    assert gateway.runtime.rollouts.get("GET /work").state is State.PAUSED
    assert "<b>paused</b>" in page
    assert 'id="do-resume"' in page
    assert 'id="do-pause"' not in page
    page = await act(client, page, "resume", "logs are fine")
    assert "<b>running</b>" in page
    # The step is judged healthy and the next one is gated: the plan waits for a person.
    rollouts = gateway.runtime.rollouts
    rollout = rollouts.get("GET /work")
    rollouts.await_approval(rollout, "healthy", rollout.step_started)
    assert rollouts.save(rollout)
    page = (await client.get(UI + "/rollout/part", params={"endpoint": "GET /work"})).text
    assert "awaiting approval" in page
    page = (await client.get(UI + "/rollout", params={"endpoint": "GET /work"})).text
    page = await act(client, page, "approve", "10% looked right")
    assert rollouts.get("GET /work").percentage == 50
    assert "<b>running</b>" in page
    assert "at 50.0%" in page
    history = [e.reason for e in gateway.runtime.service.history("GET /work")]
    assert any("approved by ann (dashboard): 10% looked right" in r for r in history)


async def test_a_refused_rollout_action_is_said_on_the_rollout_page(
    gw: tuple[Gateway, httpx.AsyncClient],
) -> None:
    """Approving a rollout that waits for nothing says why on the page; nothing changes."""
    gateway, client = gw
    start_gated(gateway)
    page = (await client.get(UI + "/rollout", params={"endpoint": "GET /work"})).text
    page = await act(client, page, "approve", "go")
    assert "not awaiting approval" in page
    assert gateway.runtime.rollouts.get("GET /work").percentage == 10


async def test_figures_say_no_traffic_when_an_endpoint_had_none_lately(
    gw: tuple[Gateway, httpx.AsyncClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """After traffic stops, the overview's p99 says "no traffic" rather than the last p99."""
    import time as clock

    gateway, client = gw
    sampler = runtime_of(gateway).sampler
    assert sampler is not None
    sampler.stop()  # its ticks are driven here, on the test's clock
    now = [clock.time()]
    monkeypatch.setattr("strangler.dashboard.app.time.time", lambda: now[0])
    for _ in range(5):
        await client.get("/work")
    sampler.tick(now[0])  # the first sample
    now[0] += 10
    for _ in range(5):
        await client.get("/work")
    sampler.tick(now[0])
    page = (await client.get(UI + "/table")).text
    row = page.split('data-endpoint="GET /work"')[1].split("</tr>")[0]
    assert " ms · -" in row or " ms · no traffic" in row
    now[0] += 120  # two minutes without a request
    sampler.tick(now[0])
    now[0] += 10
    sampler.tick(now[0])
    page = (await client.get(UI + "/table")).text
    row = page.split('data-endpoint="GET /work"')[1].split("</tr>")[0]
    assert "no traffic · no traffic" in row
    assert "<polyline" in row  # the 10 minutes' chart still shows the traffic there was
