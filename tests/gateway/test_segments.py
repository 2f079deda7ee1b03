"""Targeting through the gateway (issue #25, item 4): a flag's segments route named callers
first, whatever the percentage, and a decision kept per path never skips them."""

from __future__ import annotations

import base64
import json

import httpx

from strangler.flags.model import Flag
from strangler.gateway.dispatch import Gateway
from tests.support.asgi import http_scope
from tests.support.bytecodes import bytecodes_per_call

# Bytecodes of strangler/ for one routing decision of GET /hello under a 25 % canary split by
# the client's address, with three segments (a header, a cookie, a claim) none of which matches:
# the worst case of targeting (461 when written). A decision kept per path, for an endpoint
# without segments, is unchanged by them (tests/gateway/test_dispatch_cost.py).
SEGMENTS_BUDGET = 500

TENANT = {"X-Tenant": "acme"}


def _flag(gateway: Gateway, key: str, flag: Flag) -> None:
    gateway.watcher.store.set(key, flag, actor="test", reason="targeting")
    gateway.watcher.refresh()


def token(**claims: object) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"eyJhbGciOiJIUzI1NiJ9.{payload}.c2ln"


async def test_the_tenant_reaches_migrated_at_zero_percent_and_others_stay_on_legacy(
    gateway: Gateway, client: httpx.AsyncClient
) -> None:
    """At a 0 % canary with a tenant segment, every request with the tenant's header is served
    by migrated and every other request by legacy, in any order (none takes the other's kept
    decision)."""
    flag = Flag.build("canary", 0).with_segments(["header:X-Tenant=acme->migrated"])
    _flag(gateway, "GET /hello", flag)
    for round_ in range(10):
        first, second = (TENANT, {}) if round_ % 2 else ({}, TENANT)
        for headers in (first, second, {"X-Tenant": "other"}):
            response = await client.get("/hello", headers=headers)
            expected = "migrated" if headers == TENANT else "legacy"
            assert response.json()["app"] == expected
            assert response.headers["x-strangler-backend"] == expected


async def test_a_segment_to_legacy_holds_a_caller_back_from_a_full_rollout(
    gateway: Gateway, client: httpx.AsyncClient
) -> None:
    """A segment to legacy keeps the callers it names on legacy under mode migrated."""
    flag = Flag.build("migrated").with_segments(["cookie:pinned=legacy->legacy"])
    _flag(gateway, "GET /hello", flag)
    pinned = await client.get("/hello", headers={"Cookie": "a=1; pinned=legacy"})
    others = await client.get("/hello", headers={"Cookie": "a=1"})
    assert (pinned.json()["app"], others.json()["app"]) == ("legacy", "migrated")


async def test_a_claim_segment_reads_bearer_and_token_schemes(
    gateway: Gateway, client: httpx.AsyncClient
) -> None:
    """`claim:role=internal` matches a token sent as `Bearer` or as `Token`, unverified."""
    flag = Flag.build("legacy").with_segments(["claim:role=internal->migrated"])
    _flag(gateway, "GET /hello", flag)
    internal, external = token(role="internal"), token(role="customer")
    for scheme in ("Bearer", "Token"):
        inside = await client.get("/hello", headers={"Authorization": f"{scheme} {internal}"})
        outside = await client.get("/hello", headers={"Authorization": f"{scheme} {external}"})
        assert (inside.json()["app"], outside.json()["app"]) == ("migrated", "legacy")


async def test_a_segment_decision_says_segment_and_is_never_kept(gateway: Gateway) -> None:
    """The routing says `segment` for a matched request, and keeps no decision for an endpoint
    with segments; an endpoint without any still has its decision kept."""
    flag = Flag.build("legacy").with_segments(["header:X-Tenant=acme->migrated"])
    _flag(gateway, "GET /hello", flag)
    _flag(gateway, "GET /items/<int:item_id>", Flag.build("migrated"))
    tenant = http_scope("/hello", headers=[(b"x-tenant", b"acme")])
    decision = gateway.route(tenant, "/hello")
    assert (decision.backend.value, decision.reason.value) == ("migrated", "segment")
    assert gateway.route(http_scope("/hello"), "/hello").reason.value == "static"
    assert ("GET", "/hello") not in gateway._routed
    gateway.route(http_scope("/items/3"), "/items/3")
    assert ("GET", "/items/3") in gateway._routed


async def test_the_worst_case_of_segments_stays_within_its_bytecode_budget(
    gateway: Gateway,
) -> None:
    """Three segments tried in vain before a sticky canary split cost at most SEGMENTS_BUDGET
    bytecodes of the library a decision."""
    specs = ["header:X-Tenant=acme->migrated", "cookie:beta=1->migrated"]
    flag = Flag.build("canary", 25).with_segments([*specs, "claim:role=internal->migrated"])
    _flag(gateway, "GET /hello", flag)
    headers = [
        (b"host", b"x"),
        (b"cookie", b"session=abc; theme=dark"),
        (b"authorization", f"Bearer {token(user='alice', role='customer')}".encode()),
    ]
    scope = http_scope("/hello", headers=headers)

    async def decide() -> None:
        assert gateway.route(scope, "/hello").reason.value in ("split", "random")

    per_decision, split = await bytecodes_per_call(decide)
    assert per_decision <= SEGMENTS_BUDGET, f"{per_decision:.0f}: {split.most_common()}"
