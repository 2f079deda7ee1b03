"""The admin API's segments (issue #25, item 4): set with a flag, shown, audited, kept or
replaced by later changes, scheduled, and refused with a one-line 422 when malformed."""

from __future__ import annotations

import time

import httpx

from strangler.assembly import runtime_of
from strangler.flags.schedule import Schedule
from strangler.gateway.dispatch import Gateway
from tests.support.pair_gateway import ADMIN

TENANT = "header:X-Tenant=acme->migrated"


async def set_flag(client: httpx.AsyncClient, **change: object) -> httpx.Response:
    return await client.post("/_strangler/flags", json={"reason": "test", **change}, headers=ADMIN)


async def test_segments_set_through_the_api_route_at_once_and_are_audited(
    client: httpx.AsyncClient,
) -> None:
    """POST /flags with segments routes the tenant to migrated at a 0 % canary; the table,
    the endpoints and the history show the segments."""
    response = await set_flag(
        client, endpoint="GET /hello", mode="canary", percentage=0, segments=[TENANT]
    )
    assert response.status_code == 200, response.text
    assert response.json()["after"]["segments"] == ["header:x-tenant=acme->migrated"]
    tenant = await client.get("/hello", headers={"X-Tenant": "acme"})
    assert tenant.json()["app"] == "migrated"
    assert (await client.get("/hello")).json()["app"] == "legacy"
    table = (await client.get("/_strangler/flags", headers=ADMIN)).json()
    assert table["flags"]["GET /hello"]["segments"] == ["header:x-tenant=acme->migrated"]
    rows = (await client.get("/_strangler/endpoints", headers=ADMIN)).json()
    routing = {row["endpoint"]: row["routing"] for row in rows}["GET /hello"]
    assert routing == "canary 0%, segments header:x-tenant=acme->migrated"
    history = (await client.get("/_strangler/history?endpoint=GET /hello", headers=ADMIN)).json()
    assert history[0]["after"]["segments"] == ["header:x-tenant=acme->migrated"]


async def test_a_change_without_segments_keeps_them_and_an_empty_list_drops_them(
    client: httpx.AsyncClient,
) -> None:
    """A change that names no segments keeps the endpoint's, unless it is to legacy; `[]`
    drops them; the same segments again change nothing."""
    await set_flag(client, endpoint="GET /hello", mode="canary", percentage=5, segments=[TENANT])
    again = await set_flag(
        client, endpoint="GET /hello", mode="canary", percentage=5, segments=[TENANT]
    )
    assert again.json()["changed"] is False
    assert again.json()["flag"]["segments"] == ["header:x-tenant=acme->migrated"]
    raised = await set_flag(client, endpoint="GET /hello", mode="canary", percentage=50)
    assert raised.json()["after"]["segments"] == ["header:x-tenant=acme->migrated"]
    dropped = await set_flag(
        client, endpoint="GET /hello", mode="canary", percentage=50, segments=[]
    )
    assert "segments" not in dropped.json()["after"]
    await set_flag(client, endpoint="GET /hello", mode="migrated", segments=[TENANT])
    back = await set_flag(client, endpoint="GET /hello", mode="legacy")
    assert "segments" not in back.json()["after"]
    assert (await client.get("/hello", headers={"X-Tenant": "acme"})).json()["app"] == "legacy"


async def test_malformed_segments_are_refused_in_one_line(client: httpx.AsyncClient) -> None:
    """A malformed segment, or segments for an endpoint one app serves, is a 422 whose error
    is one line, and nothing is written."""
    cases = [
        ("GET /hello", ["header:X-Tenant=acme->sideways"], "use ->migrated or ->legacy"),
        ("GET /hello", ["cookie:=1->migrated"], "needs a name and a value"),
        ("GET /hello", [TENANT, TENANT], "given twice"),
        ("GET /migrated-only", [TENANT], "served by one app only"),
    ]
    for endpoint, segments, says in cases:
        mode = "migrated" if endpoint == "GET /migrated-only" else "canary"
        response = await set_flag(
            client, endpoint=endpoint, mode=mode, percentage=None if mode != "canary" else 5,
            segments=segments,
        )  # fmt: skip
        assert response.status_code == 422, response.text
        assert says in response.text
        assert "\n" not in response.json()["error"]
    assert (await client.get("/_strangler/history", headers=ADMIN)).json() == []


async def test_a_scheduled_change_carries_its_segments(
    gateway: Gateway, client: httpx.AsyncClient
) -> None:
    """POST /flags/scheduled keeps the segments with the change, and applying it sets them."""
    body = {
        "endpoint": "GET /hello",
        "mode": "canary",
        "percentage": 0,
        "segments": [TENANT],
        "at": "+10m",
        "reason": "tenant at dawn",
    }
    kept = await client.post("/_strangler/flags/scheduled", json=body, headers=ADMIN)
    assert kept.status_code == 200, kept.text
    assert kept.json()["segments"] == ["header:x-tenant=acme->migrated"]
    applied = Schedule(runtime_of(gateway).service).apply_due(time.time() + 3600)
    assert [change.segments for change in applied] == [["header:x-tenant=acme->migrated"]]
    flag = gateway.watcher.store.snapshot().flags["GET /hello"]
    assert [str(segment) for segment in flag.segments] == ["header:x-tenant=acme->migrated"]
