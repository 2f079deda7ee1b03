"""Sends the same requests to a Flask app (through the gateway's WSGI bridge) and to its port,
and compares the answers with the contract runner's rules: what a client could tell apart."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx

from strangler.bridge.bridge import make_bridge
from strangler.comparison.cases import Rules
from strangler.comparison.compare import Answer, Difference, compare

Send = Callable[..., Awaitable[list[Difference]]]


async def _answer(client: httpx.AsyncClient, request: httpx.Request) -> Answer:
    response = await client.send(request)
    return Answer(response.status_code, tuple(response.headers.multi_items()), response.content)


@asynccontextmanager
async def differential(legacy: Any, port: Any, rules: Rules = Rules()) -> AsyncIterator[Send]:
    """Yields `send(method, path, **httpx options)`, which answers the differences between the
    two apps' answers (cookies kept per side, as a browser would)."""
    bridge = make_bridge(legacy, threads=2)
    sides = [
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
            base_url="http://testserver",
        )
        for app in (bridge, port)
    ]

    async def send(method: str, path: str, **options: Any) -> list[Difference]:
        answers = [
            await _answer(client, client.build_request(method, path, **options)) for client in sides
        ]
        return compare(answers[0], answers[1], rules)

    try:
        yield send
    finally:
        for client in sides:
            await client.aclose()
        bridge.pool.shutdown()
