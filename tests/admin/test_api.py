"""The admin API: inventory, flag changes with reasons, audit history, and its credential."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from strangler.assembly import create_gateway, runtime_of
from strangler.gateway.dispatch import Gateway
from tests.support.pair_gateway import ADMIN, ADMIN_TOKEN
from tests.test_apps import pair


async def set_flag(client: httpx.AsyncClient, **change: object) -> httpx.Response:
    return await client.post("/_strangler/flags", json={"reason": "test", **change}, headers=ADMIN)


async def test_inventory_lists_endpoints_with_their_flags(client: httpx.AsyncClient) -> None:
    """GET /endpoints shows who serves each endpoint and where its requests go."""
    await set_flag(client, endpoint="GET /hello", mode="canary", percentage=25)
    rows = {
        r["endpoint"]: r for r in (await client.get("/_strangler/endpoints", headers=ADMIN)).json()
    }
    assert rows["GET /hello"]["served_by"] == "both"
    assert rows["GET /hello"]["routing"] == "canary 25%"
    assert rows["POST /hello"]["routing"] == "legacy"
    assert rows["GET /migrated-only"]["routing"] == "migrated"


async def test_flag_change_takes_effect_at_once_and_is_audited(client: httpx.AsyncClient) -> None:
    """A change through the API routes the next request and appears in the history."""
    response = await set_flag(client, endpoint="GET /hello", mode="migrated", actor="ops-ann")
    assert response.status_code == 200
    assert response.json()["after"] == {"mode": "migrated", "percentage": 100.0}
    assert (await client.get("/hello")).json()["app"] == "migrated"
    history = (await client.get("/_strangler/history?endpoint=GET /hello", headers=ADMIN)).json()
    assert [(h["actor"], h["reason"], h["before"]) for h in history] == [
        ("admin (as ops-ann)", "test", None)  # the credential names the actor (#11)
    ]


@pytest.mark.parametrize(
    ("change", "status", "kind"),
    [
        ({"endpoint": "GET /nope", "mode": "migrated"}, 404, "UnknownEndpoint"),
        ({"endpoint": "POST /hello", "mode": "migrated"}, 422, "NoMigratedHandler"),
        ({"endpoint": "POST /hello", "mode": "canary", "percentage": 5}, 422, "NoMigratedHandler"),
        ({"endpoint": "GET /migrated-only", "mode": "legacy"}, 422, "NoLegacyHandler"),
        ({"endpoint": "GET /hello", "mode": "canary", "percentage": 100.01}, 422, "InvalidFlag"),
        ({"endpoint": "GET /hello", "mode": "canary", "percentage": -5}, 422, "InvalidFlag"),
        ({"endpoint": "GET /hello", "mode": "canary"}, 422, "InvalidFlag"),
        ({"endpoint": "GET /hello", "mode": "upside-down"}, 422, "InvalidFlag"),
        ({"endpoint": "GET /hello", "mode": "migrated", "reason": "  "}, 422, "InvalidFlag"),
    ],
)
async def test_invalid_changes_are_refused_and_change_nothing(
    client: httpx.AsyncClient, change: dict[str, object], status: int, kind: str
) -> None:
    """A refused change answers with its error type and message, and the table is unchanged."""
    response = await set_flag(client, **change)
    assert response.status_code == status
    assert response.json()["type"] == kind
    assert response.json()["error"]
    flags = (await client.get("/_strangler/flags", headers=ADMIN)).json()
    assert flags == {"version": 0, "flags": {}}


@pytest.mark.parametrize("path", ["/endpoints", "/flags", "/history"])
async def test_admin_api_refuses_calls_without_the_credential(
    client: httpx.AsyncClient, path: str
) -> None:
    """Without the admin token, or with a wrong one, every admin call answers 401."""
    assert (await client.get("/_strangler" + path)).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert (await client.get("/_strangler" + path, headers=wrong)).status_code == 401
    both = {"X-Strangler-Admin-Token": ADMIN_TOKEN}
    assert (await client.get("/_strangler" + path, headers=both)).status_code == 200


async def test_admin_api_is_closed_when_no_credential_is_configured() -> None:
    """With no token configured the API refuses everything and says how to open it."""
    gateway = create_gateway(pair.legacy, pair.migrated)
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://g") as c:
        response = await c.get("/_strangler/endpoints", headers={"Authorization": "Bearer x"})
    assert response.status_code == 401
    assert "STRANGLER_ADMIN_TOKEN" in response.json()["error"]


async def test_development_mode_opens_the_admin_api() -> None:
    """In explicit development mode the API answers without a token."""
    gateway = create_gateway(pair.legacy, pair.migrated, dev_mode=True)
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://g") as c:
        assert (await c.get("/_strangler/endpoints")).status_code == 200


async def test_health_is_open_and_reports_the_flag_store(client: httpx.AsyncClient) -> None:
    """GET /health needs no token and reports the store state and table version."""
    body = (await client.get("/_strangler/health")).json()
    assert body["status"] == "ok"
    assert body["flags"]["version"] == 0


async def test_health_reports_degraded_when_the_store_is_unreadable(tmp_path: Path) -> None:
    """A gateway on an unreadable store serves legacy and its health says degraded."""
    bad = tmp_path / "flags.db"
    bad.write_bytes(b"garbage" * 1000)
    gateway = create_gateway(pair.legacy, pair.migrated, bad, admin_token=ADMIN_TOKEN)
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://g") as c:
        health = (await c.get("/_strangler/health")).json()
        served = await c.get("/hello")
    assert health["status"] == "degraded"
    assert "flags.db" in health["flags"]["error"]
    assert served.json()["app"] == "legacy"


async def test_an_empty_admin_token_opens_nothing() -> None:
    """A token set to "" counts as no token: the API stays closed, even to an empty bearer."""
    gateway = create_gateway(pair.legacy, pair.migrated, admin_token="")
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://g") as c:
        response = await c.get("/_strangler/flags", headers={"X-Strangler-Admin-Token": ""})
    assert response.status_code == 401


async def test_a_store_fault_is_a_503_with_a_json_error(tmp_path: Path) -> None:
    """A change while the store is gone answers 503 with the reason, not a bare 500 (#11)."""
    from strangler.flags.store import open_store

    path = tmp_path / "flags.db"
    open_store(path, create=True).version()
    gateway = create_gateway(pair.legacy, pair.migrated, path, admin_token=ADMIN_TOKEN)
    path.unlink()
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://g") as client:
        change = {"endpoint": "GET /hello", "mode": "migrated", "reason": "r"}
        response = await client.post("/_strangler/flags", json=change, headers=ADMIN)
        health = (await client.get("/_strangler/health")).json()
    gateway.close()
    assert response.status_code == 503
    assert response.json()["type"] == "FlagStoreError"
    assert "no flag store" in response.json()["error"] or "deleted" in response.json()["error"]
    assert health["status"] == "degraded"


async def test_named_credentials_name_the_actor_and_read_ones_cannot_change() -> None:
    """Each person or system has a credential; the audit names it, and `read` may not write."""
    gateway = create_gateway(
        pair.legacy, pair.migrated, "memory:", admin_tokens="ann:write:ann-token,ci:read:ci-token"
    )
    transport = httpx.ASGITransport(app=gateway)
    change = {"endpoint": "GET /hello", "mode": "migrated", "reason": "r", "actor": "root"}
    async with httpx.AsyncClient(transport=transport, base_url="http://g") as client:
        ann = {"Authorization": "Bearer ann-token"}
        ci = {"Authorization": "Bearer ci-token"}
        refused = await client.post("/_strangler/flags", json=change, headers=ci)
        assert (refused.status_code, refused.json()["type"]) == (403, "Forbidden")
        assert (await client.get("/_strangler/flags", headers=ci)).status_code == 200
        assert (await client.post("/_strangler/flags", json=change, headers=ann)).status_code == 200
        history = (await client.get("/_strangler/history", headers=ci)).json()
        forced = await client.get(
            "/hello",
            headers={"X-Strangler-Force-Backend": "legacy", "X-Strangler-Admin-Token": "ci-token"},
        )
    assert [h["actor"] for h in history] == ["ann (as root)"]
    assert forced.json()["app"] == "legacy"


@pytest.mark.parametrize(
    "tokens",
    [
        "ann:admin:t",
        "ann:write",
        "ann::t,bob:read:u",
        "ann:read:t,ann:write:u",
        "ci:read:x,ann:write:x",
    ],
)
def test_malformed_named_credentials_are_one_clear_error(tokens: str) -> None:
    """A mistake in STRANGLER_ADMIN_TOKENS is refused with what to write."""
    from strangler.errors import ConfigError

    with pytest.raises(ConfigError, match=r"STRANGLER_ADMIN_TOKENS|distinct names|distinct tokens"):
        create_gateway(pair.legacy, pair.migrated, "memory:", admin_tokens=tokens)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/rollouts", '{"endpoint": "GET /hello", "steps": [NaN], "interval": 60, "reason": "x"}'),
        ("/rollouts", '{"endpoint": "GET /hello", "steps": "5,100", "interval": Infinity}'),
        (
            "/rollouts",
            '{"endpoint": "GET /hello", "steps": [5], "interval": 60, "min_requests": NaN,'
            ' "reason": "x"}',
        ),
        ("/rollouts/pause", '{"endpoint": NaN, "reason": "x"}'),
        ("/flags", '{"endpoint": "GET /hello", "mode": "canary", "percentage": NaN, "reason": 1}'),
        ("/shadow", '{"endpoint": "GET /hello", "percentage": -Infinity, "reason": "x"}'),
        ("/flags", "NaN"),
    ],
    ids=["steps", "interval", "min_requests", "pause", "flags", "shadow", "bare"],
)
async def test_nan_and_infinity_are_refused_with_a_clear_422(
    client: httpx.AsyncClient, path: str, body: str
) -> None:
    """NaN and Infinity (which JSON lacks) in a body answer 422 naming the field, not 500 (#22)."""
    headers = {**ADMIN, "Content-Type": "application/json"}
    response = await client.post("/_strangler" + path, content=body, headers=headers)
    assert response.status_code == 422
    assert response.json()["type"] == "InvalidRequest"
    assert response.json()["error"].startswith("invalid request: body")
    flags = (await client.get("/_strangler/flags", headers=ADMIN)).json()
    assert flags == {"version": 0, "flags": {}}


async def test_shadow_findings_kept_are_acknowledged_and_cleared_by_a_writer(
    gateway: Gateway, client: httpx.AsyncClient
) -> None:
    """POST /shadow/ack marks the findings kept as seen, with the credential as the actor;
    POST /shadow/clear forgets them; an endpoint with none kept is 404 (#23)."""
    from strangler.shadow import findings
    from tests.shadow.test_findings import ITEM, mismatch, worker_report

    change = findings.delta(worker_report(4, [mismatch("2024-01-01T00:00:01")]), None)
    assert change is not None
    store = runtime_of(gateway).service.store
    store.update_findings(ITEM, lambda doc: findings.fold(doc, change, ITEM))
    body = {"endpoint": ITEM, "reason": "known", "actor": "ann"}
    acked = await client.post("/_strangler/shadow/ack", json=body, headers=ADMIN)
    assert acked.status_code == 200, acked.text
    assert acked.json()["acknowledged"]["actor"] == "admin (as ann)"
    (entry,) = (await client.get("/_strangler/shadow", headers=ADMIN)).json()["endpoints"]
    assert (entry["mismatched"], entry["unacknowledged"]) == (1, 0)
    assert entry["acknowledged"]["reason"] == "known"
    unknown = {"endpoint": "GET /nope", "reason": "x"}
    missing = await client.post("/_strangler/shadow/ack", json=unknown, headers=ADMIN)
    assert (missing.status_code, missing.json()["type"]) == (404, "UnknownEndpoint")
    cleared = await client.post("/_strangler/shadow/clear", json={"reason": "fixed"}, headers=ADMIN)
    assert cleared.json()["cleared"] == [ITEM]
    assert (await client.get("/_strangler/shadow", headers=ADMIN)).json()["endpoints"] == []


async def test_a_read_credential_may_not_acknowledge_or_clear_findings() -> None:
    """Acknowledging and clearing change what is kept: the `read` role is refused (403)."""
    gateway = create_gateway(
        pair.legacy, pair.migrated, "memory:", admin_tokens="ci:read:ci-token-long-enough"
    )
    transport = httpx.ASGITransport(app=gateway)
    headers = {"Authorization": "Bearer ci-token-long-enough"}
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://g") as client:
            for action in ("ack", "clear"):
                answer = await client.post(
                    f"/_strangler/shadow/{action}",
                    json={"endpoint": "GET /hello", "reason": "x"},
                    headers=headers,
                )
                assert answer.status_code == 403, answer.text
    finally:
        gateway.close()
