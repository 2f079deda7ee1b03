"""The observed pair (tests/test_apps/observed_pair.py) behind an in-process gateway, and what the
tests of request ids, metrics and the request log read back through it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from strangler.assembly import create_gateway
from strangler.gateway.dispatch import Gateway
from tests.test_apps.observed_pair import legacy, migrated

TOKEN = "observe-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


async def client_for(**options: Any) -> AsyncIterator[tuple[Gateway, httpx.AsyncClient]]:
    gateway = create_gateway(legacy, migrated, "memory:", admin_token=TOKEN, **options)
    transport = httpx.ASGITransport(app=gateway, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://g") as client:
        yield gateway, client
    gateway.close()


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
