"""Outbound HTTP from a sandbox is recorded and answered, never sent; outside one it goes out
as before. Checked against a real HTTP server on loopback that counts what reaches it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from strangler.sandbox.context import OutboundCall, Sandbox
from strangler.sandbox.outbound import NOT_SENT, NOT_SENT_HEADER, install
from tests.support.outbound import Service, counting_service


@pytest.fixture
def counted() -> Iterator[Service]:
    """A real HTTP service on loopback that records every request reaching it."""
    with counting_service() as service:
        yield service


@pytest.fixture(autouse=True)
def installed() -> None:
    assert "httpx" in install()


def test_httpx_in_a_sandbox_is_recorded_not_sent(counted: Service) -> None:
    """httpx (sync) in a sandbox: 503 marked not-sent, the call recorded, nothing reaches the
    service; the same call outside the sandbox reaches it."""
    service = counted.url
    with Sandbox() as box:
        answer = httpx.post(service + "/charge", json={"cents": 100})
    assert answer.status_code == 503
    assert answer.headers[NOT_SENT_HEADER] == NOT_SENT
    assert box.calls == [OutboundCall("POST", service + "/charge", b'{"cents":100}')]
    assert counted.hits == []
    assert httpx.post(service + "/charge", json={"cents": 100}).status_code == 201
    assert counted.hits == [("/charge", b'{"cents":100}')]


def test_async_httpx_in_a_sandbox_is_recorded_not_sent(counted: Service) -> None:
    """httpx's async client in a sandbox is recorded and answered too."""
    service = counted.url

    async def call() -> tuple[int, list[OutboundCall]]:
        async with httpx.AsyncClient() as client:
            with Sandbox() as box:
                answer = await client.post(service + "/mail", content=b"hello")
        return answer.status_code, box.calls

    status, calls = asyncio.run(call())
    assert status == 503
    assert calls == [OutboundCall("POST", service + "/mail", b"hello")]
    assert counted.hits == []


def test_requests_in_a_sandbox_is_recorded_not_sent(counted: Service) -> None:
    """requests in a sandbox: 503 marked not-sent, recorded, never sent; outside, sent."""
    service = counted.url
    requests = pytest.importorskip("requests")
    assert "requests" in install()
    with Sandbox() as box:
        answer = requests.post(service + "/charge", data=b"x=1", timeout=5)
    assert answer.status_code == 503
    assert answer.headers[NOT_SENT_HEADER] == NOT_SENT
    assert box.calls == [OutboundCall("POST", service + "/charge", b"x=1")]
    assert counted.hits == []
    assert requests.post(service + "/charge", data=b"x=1", timeout=5).status_code == 201
    assert counted.hits == [("/charge", b"x=1")]
