"""A/A calibration on the worked example: what two legacy answers differ in is noise (#13)."""

from __future__ import annotations

import httpx

from strangler.assembly import create_gateway
from strangler.settings import import_string
from strangler.shadow.tap import ShadowLimits, ShadowTap
from tests.shadow.test_shadow import settled, shadow


async def test_the_health_timestamp_is_learned_as_noise_not_counted() -> None:
    """No corpus rules here: /health's timestamp differs between any two answers, so A/A
    learns it, and 20 shadowed requests give no mismatch."""
    legacy = import_string("legacy.app:app")
    migrated = import_string("migrated.app:app")
    tap = ShadowTap(limits=ShadowLimits(max_cpu=float("inf")))
    gateway = create_gateway(legacy, migrated, "memory:", shadow=tap)
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://g") as client:
        shadow(gateway, "GET /health", 100)
        for _ in range(20):
            assert (await client.get("/health")).status_code == 200
        report = await settled(gateway, "GET /health", 20)
    gateway.close()
    assert report["noise"] == ["$.timestamp"]
    assert (report["compared"], report["mismatched"]) == (20, 0)
