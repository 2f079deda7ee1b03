"""strangler.compat on a foreign app: httpbin and its port answer hostile requests alike."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpbin
import pytest

from strangler.comparison.cases import Rules
from tests.compat.differential import Send, differential
from tests.compat.httpbin_port import make_port

HOSTILE = [
    ("GET", "/uuid", {}),
    ("POST", "/uuid", {}),
    ("GET", "/uuid/", {}),
    ("GET", "/bytes/8", {"params": {"seed": "4"}}),
    ("GET", "/bytes/8", {"params": {"SEED": "4"}}),
    ("GET", "/bytes/8", {"params": {"seed": "x"}}),
    ("GET", "/bytes/x", {}),
    ("GET", "/bytes/-8", {}),
    ("GET", "/bytes/8.5", {}),
    ("DELETE", "/bytes/8", {"headers": [("Origin", "a"), ("Origin", "b")]}),
    ("GET", "/uuid", {"headers": {"Origin": "http://client.example"}}),
]


@pytest.fixture
async def send() -> AsyncIterator[Send]:
    async with differential(httpbin.app, make_port(), Rules(ignore=("$.uuid",))) as sending:
        yield sending


@pytest.mark.parametrize(("method", "path", "options"), HOSTILE, ids=lambda v: str(v)[:40])
async def test_the_httpbin_port_answers_as_httpbin(
    send: Send, method: str, path: str, options: dict[str, object]
) -> None:
    """Unknown paths, wrong methods, unconvertible path and query values get httpbin's answer."""
    assert await send(method, path, **options) == []
