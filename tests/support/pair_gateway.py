"""A gateway on the small pair (tests/test_apps/pair.py) with an admin token, and a client for
it: the fixtures of the request path's and the admin API's tests (their conftest.py files
import them)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from strangler.assembly import create_gateway
from strangler.gateway.dispatch import Gateway
from tests.test_apps import pair

ADMIN_TOKEN = "test-admin-token"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    gateway = create_gateway(pair.legacy, pair.migrated, "memory:", admin_token=ADMIN_TOKEN)
    yield gateway
    gateway.close()  # its poll thread starts at the first request


@pytest.fixture
async def client(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client
