"""Shadowing the worked example through its shared prediction cache (#23): a port wrong on
cache misses, whose wrong values are cached, is caught at once whichever backend serves; the
faithful port gives no mismatch; `$.cached` and `$.model_version` are never learned as noise."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import httpx
import pytest

from migrated.domain import prediction_cache
from strangler.assembly import create_gateway
from strangler.flags.model import Flag
from strangler.gateway.dispatch import Gateway
from strangler.settings import import_string
from strangler.shadow.tap import ShadowLimits, ShadowTap
from strangler.types import Mode
from tests.test_apps.cache_slip import slips

ROWS = 40  # distinct inputs, each asked REPEATS times in a shuffled order
REPEATS = 4


def rows() -> list[list[float]]:
    chosen = random.Random(23)
    distinct = [[round(chosen.uniform(-3, 3), 3) for _ in range(10)] for _ in range(ROWS)]
    every = [row for row in distinct for _ in range(REPEATS)]
    chosen.shuffle(every)
    return every


async def shadowed_predictions(
    port: str, serving: Mode, token: str
) -> tuple[dict[str, Any], list[Any]]:
    """The worked example behind a gateway, POST /predict served by `serving` and shadowed at
    100 %; returns the endpoint's report after every request was compared, and the rows."""
    prediction_cache.clear()
    legacy = import_string("legacy.app:app")
    migrated = import_string(port)
    migrated_app = import_string("migrated.app:app")  # the port's own, under any wrapper
    tap = ShadowTap(limits=ShadowLimits(max_cpu=float("inf"), timeout=30))
    gateway: Gateway = create_gateway(legacy, migrated, "memory:", shadow=tap)
    sent = rows()
    try:
        service = gateway.runtime.service
        service.store.set("POST /predict", Flag.build(serving.value), actor="t", reason="serve")
        service.shadow(
            "POST /predict",
            100,
            side_effect_free="a pure function of its input; its cache is not filled in a sandbox",
            actor="test",
            reason="compare",
        )
        gateway.watcher.refresh()
        transport = httpx.ASGITransport(app=gateway)
        async with (
            migrated_app.router.lifespan_context(migrated_app),  # its batcher, on this loop
            httpx.AsyncClient(transport=transport, base_url="http://g") as client,
        ):
            login = await client.post("/login", json={"username": "admin", "password": "password"})
            auth = {"Authorization": f"Bearer {login.json()['token']}"}
            for row in sent:  # one at a time: no two identical requests race here
                answer = await client.post("/predict", json={"features": row}, headers=auth)
                assert answer.status_code == 200
            record = tap.records["POST /predict"]
            deadline = time.monotonic() + 30
            while record.compared + record.failed + record.timed_out < len(sent):
                assert time.monotonic() < deadline, tap.report()
                await asyncio.sleep(0.02)
    finally:
        gateway.close()
        prediction_cache.clear()
    report = next(e for e in tap.report()["endpoints"] if e["endpoint"] == "POST /predict")
    return report, sent


@pytest.mark.parametrize("serving", [Mode.MIGRATED, Mode.LEGACY])
async def test_a_port_wrong_on_cache_misses_is_caught_on_each_wrong_input(
    serving: Mode, token: str
) -> None:
    """Each input the port gets wrong is a mismatch the first time it is asked (its miss),
    whether the port serves (and caches its wrong value) or is the shadow; the rest match."""
    report, sent = await shadowed_predictions("tests.test_apps.cache_slip:app", serving, token)
    wrong = {str(row) for row in sent if slips(row)}
    assert 0 < len(wrong) < ROWS
    assert report["compared"] == ROWS * REPEATS
    assert report["mismatched"] == len(wrong), report["mismatched_where"]
    assert report["mismatched_where"] == {"$.prediction": len(wrong)}
    assert not {"$.cached", "$.model_version"} & set(report["noise"])


async def test_the_faithful_port_matches_and_cache_fields_are_not_noise(token: str) -> None:
    """The real port served by migrated, legacy shadowed: every comparison matches, nothing
    about the cache is learned as noise or reported as systematic."""
    report, _ = await shadowed_predictions("migrated.app:app", Mode.MIGRATED, token)
    assert (report["compared"], report["mismatched"]) == (ROWS * REPEATS, 0)
    assert report["noise"] == []
    assert report["systematic"] == {}
