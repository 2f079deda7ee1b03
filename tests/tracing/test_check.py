"""The warning when tracing is on but no OpenTelemetry SDK is set up (#27): the spans would go
nowhere, silently (as under `opentelemetry-instrument` without opentelemetry-distro)."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from strangler.assembly import create_gateway
from strangler.gateway.dispatch import Gateway
from tests.test_apps import pair


def two_requests(gateway: Gateway) -> None:
    async def run() -> None:
        transport = httpx.ASGITransport(app=gateway)
        async with httpx.AsyncClient(transport=transport, base_url="http://g") as client:
            await client.get("/items/1")
            await client.get("/items/1")

    asyncio.run(run())


@pytest.mark.parametrize(
    ("provider", "warned"), [(trace.ProxyTracerProvider(), 1), (TracerProvider(), 0)]
)
def test_tracing_without_an_sdk_says_so_once_at_the_first_request(
    provider: trace.TracerProvider,
    warned: int,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With no tracer provider set (the API's proxy) the first request logs one warning naming
    how to set one; with the SDK's provider nothing is logged."""
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)
    gateway = create_gateway(pair.legacy, pair.migrated, "memory:", tracing=True)
    try:
        with caplog.at_level(logging.WARNING, logger="strangler.tracing"):
            two_requests(gateway)
    finally:
        gateway.close()
    said = [r.getMessage() for r in caplog.records if r.name == "strangler.tracing"]
    assert len(said) == warned, said
    assert all("opentelemetry-distro" in line for line in said)
