"""The admin API's rollout actions for operators (#25): a gated step, approve, promote, and the
refusal to cut traffic back, as the dashboard's buttons and `--url` call them."""

from __future__ import annotations

import httpx

from tests.support.pair_gateway import ADMIN

ENDPOINT = "GET /hello"


async def post(client: httpx.AsyncClient, path: str, **body: object) -> httpx.Response:
    return await client.post(
        f"/_strangler{path}", json={"endpoint": ENDPOINT, "reason": "test", **body}, headers=ADMIN
    )


async def test_a_rollout_with_a_gate_describes_its_next_step(client: httpx.AsyncClient) -> None:
    """POST /rollouts keeps approve_at; the answer says which step is next and if it is gated."""
    started = await post(client, "/rollouts", steps="5,50,100", interval="1m", approve_at="50")
    assert started.status_code == 200, started.text
    body = started.json()
    assert (body["approve_at"], body["next_step"], body["next_gated"]) == ([50.0], 50.0, True)
    refused = await post(client, "/rollouts/approve")
    assert refused.status_code == 404
    assert "not awaiting approval" in refused.json()["error"]


async def test_promote_through_the_api_moves_the_flag(client: httpx.AsyncClient) -> None:
    """POST /rollouts/promote moves the rollout to its next step and the flag with it."""
    await post(client, "/rollouts", steps=[5, 100], interval=60)
    promoted = await post(client, "/rollouts/promote")
    assert promoted.status_code == 200, promoted.text
    assert (promoted.json()["state"], promoted.json()["percentage"]) == ("running", 100.0)
    assert (await client.get("/hello")).json()["app"] == "migrated"


async def test_starting_on_a_migrated_endpoint_is_a_409_unless_from_start(
    client: httpx.AsyncClient,
) -> None:
    """A rollout that would cut a migrated endpoint back is refused (409) unless from_start."""
    await client.post(
        "/_strangler/flags",
        json={"endpoint": ENDPOINT, "mode": "migrated", "reason": "ported"},
        headers=ADMIN,
    )
    refused = await post(client, "/rollouts", steps="5,100", interval=60)
    assert refused.status_code == 409
    assert "from_start" in refused.json()["error"]
    assert (await client.get("/hello")).json()["app"] == "migrated"
    started = await post(client, "/rollouts", steps="5,100", interval=60, from_start=True)
    assert started.status_code == 200
    assert started.json()["percentage"] == 5.0
