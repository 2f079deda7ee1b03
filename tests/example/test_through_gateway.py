"""The example through the gateway: on migrated or on legacy, clients see no change."""

from __future__ import annotations

from collections.abc import AsyncIterator

import flask.testing
import httpx
import pytest

from migrated.domain import prediction_cache
from strangler.gateway.dispatch import Gateway, create_gateway
from strangler.gateway.lifespan import Lifespan
from strangler.testing import override_flags
from tests.example.cases import CASES, Case
from tests.example.conftest import legacy_app, migrated_app

ENDPOINTS = [
    "GET /health",
    "GET /model-info",
    "POST /login",
    "POST /predict",
    "POST /batch-predict",
]


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    """The gateway over both apps, with its lifespan (and so the migrated app's) running."""
    gateway = create_gateway(legacy_app, migrated_app, "memory:")
    lifespan = Lifespan(gateway, {})
    await lifespan.startup()
    yield gateway
    await lifespan.shutdown()


@pytest.fixture
async def client(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def _allow(value: str | None) -> set[str]:
    return {method.strip() for method in (value or "").split(",") if method.strip()}


async def _replay(
    case: Case, legacy: flask.testing.FlaskClient, client: httpx.AsyncClient, token: str
) -> tuple[list[object], list[object], set[str]]:
    headers = {name: value.format(token=token) for name, value in case.headers.items()}
    expected: list[object] = []
    for _ in range(case.times):
        r = legacy.open(case.path, method=case.method, headers=headers, data=case.body)
        expected.append(
            (r.status_code, r.data, r.headers.get("Content-Type"), _allow(r.headers.get("Allow")))
        )
    prediction_cache.clear()
    actual: list[object] = []
    backends = set()
    for _ in range(case.times):
        g = await client.request(case.method, case.path, headers=headers, content=case.body)
        actual.append(
            (
                g.status_code,
                g.content,
                g.headers.get("Content-Type"),
                _allow(g.headers.get("Allow")),
            )
        )
        backends.add(g.headers["x-strangler-backend"])
    return expected, actual, backends


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_flipped_to_migrated_answers_like_legacy_alone(
    case: Case,
    gateway: Gateway,
    legacy: flask.testing.FlaskClient,
    client: httpx.AsyncClient,
    token: str,
) -> None:
    """With every endpoint on migrated, each case answers as the Flask app alone does."""
    with override_flags(gateway, dict.fromkeys(ENDPOINTS, "migrated")):
        expected, actual, backends = await _replay(case, legacy, client, token)
    assert actual == expected
    if gateway.inventory.match(case.method, case.path) is not None:
        assert backends == {"migrated"}


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_left_on_legacy_answers_like_legacy_alone(
    case: Case, legacy: flask.testing.FlaskClient, client: httpx.AsyncClient, token: str
) -> None:
    """With no flags, each case answers through the gateway as the Flask app alone does."""
    expected, actual, backends = await _replay(case, legacy, client, token)
    assert actual == expected
    assert backends == {"legacy"}
