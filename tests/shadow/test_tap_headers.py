"""Shadowing compares every answer header as the contract run does (#24): the shadow tap the
settings build (strangler.assembly.shadow_tap), with the default volatile headers, flags the
CORS pair's ports that slip on headers alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from strangler.assembly import create_gateway, shadow_tap
from strangler.settings import import_string, load_settings
from tests.support.waiting import wait_until_async

PAIR = Path(__file__).resolve().parents[1] / "test_apps" / "cors_pair"
PORTS = "tests.test_apps.cors_pair.news_migrated"
LIST = "GET /articles"
FRONT_END = {"Origin": "https://app.example"}


async def shadowed(port: str, requests: int = 12) -> dict[str, Any]:
    """Shadows every GET /articles of the pair with `port` as migrated; the endpoint's report
    once `requests` front-end requests (legacy serving) were compared."""
    # The test's own client keeps this process busy: shadow whatever the load.
    settings = load_settings(PAIR / "strangler.toml", migrated=f"{PORTS}:{port}", shadow_max_cpu=9)
    tap = shadow_tap(settings)
    gateway = create_gateway(
        import_string(settings.legacy, settings.root),
        import_string(settings.migrated, settings.root),
        shadow=tap,
    )
    try:
        gateway.runtime.service.shadow(LIST, 100, actor="test", reason="watch the port")
        gateway.watcher.refresh()
        transport = httpx.ASGITransport(app=gateway)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            answers = [await client.get("/articles", headers=FRONT_END) for _ in range(requests)]
        assert {a.headers["access-control-allow-origin"] for a in answers} == {FRONT_END["Origin"]}
        await wait_until_async(
            lambda: tap.records[LIST].compared >= requests, what="the comparisons"
        )
        return next(e for e in tap.report()["endpoints"] if e["endpoint"] == LIST)
    finally:
        gateway.close()


async def test_the_port_with_the_same_cors_headers_is_not_flagged() -> None:
    """Every header compared, none differs: no mismatch, and none taken for noise."""
    report = await shadowed("app")
    assert (report["compared"], report["mismatched"]) == (12, 0), report
    assert not report["noise"]


@pytest.mark.parametrize(
    ("port", "where"),
    [
        (
            "forgets_cors",
            {
                "header:access-control-allow-credentials",
                "header:access-control-allow-origin",
                "header:access-control-expose-headers",
                "header:vary",
            },
        ),
        ("adds_cache", {"header:cache-control"}),
    ],
)
async def test_a_port_that_slips_on_headers_is_flagged_at_the_header(
    port: str, where: set[str]
) -> None:
    """The clients get legacy's answers; every shadowed request is a mismatch at the headers
    the port forgot or added, with the default volatile headers."""
    report = await shadowed(port)
    assert (report["compared"], report["mismatched"]) == (12, 12), report
    assert set(report["mismatched_where"]) == where
