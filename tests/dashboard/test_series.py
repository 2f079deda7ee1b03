"""The dashboard's series, sampled in the background (strangler.dashboard.series): filled while no
page is open, bounded to the window, the sampler's thread stopped with the gateway (#25)."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from strangler.assembly import create_gateway, runtime_of
from strangler.dashboard.series import Sampler, Samples
from strangler.gateway.dispatch import Gateway
from strangler.rollout.plan import Criteria
from tests.dashboard.test_app import TOKENS, UI, login
from tests.support.waiting import wait_until
from tests.test_apps import rollout_pair

THREAD = "strangler-dashboard"


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
        yield gateway, client
    gateway.close()


def held(gateway: Gateway) -> Sampler:
    """The gateway's sampler with its thread stopped, for a test to tick by hand."""
    sampler = runtime_of(gateway).sampler
    assert sampler is not None
    sampler.stop()
    return sampler


async def test_the_series_fill_while_no_dashboard_page_is_open(
    gw: tuple[Gateway, httpx.AsyncClient],
) -> None:
    """The sampler's ticks record the traffic with no page open; the first page opened shows
    the last minute's requests a second and the chart, not "-"."""
    gateway, client = gw
    for _ in range(5):
        await client.get("/work")  # the first request starts the runtime and its sampler
    sampler = held(gateway)
    now = time.time()
    for at in (now - 15, now - 10, now - 5):
        sampler.tick(at)
        for _ in range(5):
            await client.get("/work")
    rates = sampler.samples.rates("GET /work", "legacy")
    assert [rate.tally.requests for rate in rates] == [5, 5]
    await login(client, "ann-secret-token")
    page = (await client.get(UI + "/table")).text
    row = page.split('data-endpoint="GET /work"')[1].split("</tr>")[0]
    assert '<td class="num">1.0 · 0.0</td>' in row  # 10 requests in 10 s
    assert "<polyline" in row
    assert sampler.samples.rates("GET /work", "legacy") == rates  # the page took none


async def test_the_gateway_samples_in_a_thread_that_stops_with_it(
    gw: tuple[Gateway, httpx.AsyncClient],
) -> None:
    """The sampler's thread runs from the gateway's start and is joined at its shutdown."""
    gateway, client = gw
    await client.get("/work")
    wait_until(
        lambda: any(t.name == THREAD for t in threading.enumerate()), what="the sampler's thread"
    )
    gateway.close()
    assert not any(t.name == THREAD for t in threading.enumerate())


async def test_no_sampler_runs_while_the_dashboard_is_closed() -> None:
    """Without admin credentials (and not in development mode) nobody can open the dashboard:
    no samples are taken."""
    gateway = create_gateway(rollout_pair.legacy, rollout_pair.migrated, "memory:")
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as client:
        await client.get("/work")
    assert runtime_of(gateway).sampler is None
    assert not any(t.name == THREAD for t in threading.enumerate())
    gateway.close()


async def test_samples_are_kept_for_the_window_only(
    gw: tuple[Gateway, httpx.AsyncClient],
) -> None:
    """An hour of ticks keeps 10 minutes of samples (one every 5 s) and of a rollout's
    findings; a tick sooner than the step takes none."""
    gateway, client = gw
    await client.get("/work")
    sampler = held(gateway)
    gateway.runtime.rollouts.start(
        "GET /work", (10.0, 100.0), 60.0, 5, Criteria(), actor="ann", reason="test"
    )
    samples = sampler.samples
    start = time.time() - 3600
    for i in range(720):
        sampler.tick(start + 5 * i)
        sampler.tick(start + 5 * i + 1)  # too soon: skipped
    assert len(samples.rates("GET /work", "legacy")) == 120  # 121 samples, 120 intervals
    judged = samples.judged("GET /work")
    assert len(judged) == 121
    assert judged[-1].at - judged[0].at == samples.window


def test_a_clock_set_back_starts_the_samples_afresh() -> None:
    """A sample older than the last (the wall clock set back) drops those after it, rather
    than stop sampling until the clock catches up."""
    gateway = create_gateway(rollout_pair.legacy, rollout_pair.migrated, "memory:")
    samples = Samples(runtime_of(gateway).rollouts)
    now = time.time()
    for at in (now, now + 5, now + 10):
        samples.take(at)
    samples.take(now - 3600)
    samples.take(now - 3595)
    assert [(r.start, r.end) for r in samples.rates("GET /work", "legacy")] == [
        (now - 3600, now - 3595)
    ]
    gateway.close()
