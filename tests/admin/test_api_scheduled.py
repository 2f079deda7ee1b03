"""The admin API's scheduled flag changes (#25): kept, listed, cancelled; checked when kept."""

from __future__ import annotations

import time

import httpx

from tests.support.pair_gateway import ADMIN


async def test_a_change_is_scheduled_listed_and_cancelled(client: httpx.AsyncClient) -> None:
    """POST /flags/scheduled keeps it (the flag unchanged), GET lists it, cancel drops it."""
    body = {"endpoint": "GET /hello", "mode": "migrated", "at": "+10m", "reason": "later"}
    kept = await client.post("/_strangler/flags/scheduled", json=body, headers=ADMIN)
    assert kept.status_code == 200, kept.text
    change = kept.json()
    assert change["at"] > time.time() + 590
    assert change["actor"] == "admin"
    assert (await client.get("/hello")).json()["app"] == "legacy"
    listed = (await client.get("/_strangler/flags/scheduled", headers=ADMIN)).json()
    assert [c["id"] for c in listed] == [change["id"]]
    cancel = {"id": change["id"], "reason": "freeze"}
    cancelled = await client.post("/_strangler/flags/scheduled/cancel", json=cancel, headers=ADMIN)
    assert cancelled.status_code == 200
    assert (await client.get("/_strangler/flags/scheduled", headers=ADMIN)).json() == []


async def test_an_iso_time_without_a_zone_is_utc_and_a_past_one_refused(
    client: httpx.AsyncClient,
) -> None:
    """An ISO time without a zone is read as UTC; a time past is a 422 saying so."""
    body = {"endpoint": "GET /hello", "mode": "migrated", "reason": "x"}
    kept = await client.post(
        "/_strangler/flags/scheduled", json={**body, "at": "2999-01-01T00:00"}, headers=ADMIN
    )
    assert kept.json()["at_text"] == "2999-01-01T00:00:00+00:00"
    past = await client.post(
        "/_strangler/flags/scheduled", json={**body, "at": "2001-01-01T00:00"}, headers=ADMIN
    )
    assert past.status_code == 422
    assert "is past" in past.json()["error"]


async def test_epoch_seconds_past_or_beyond_year_9999_are_refused(
    client: httpx.AsyncClient,
) -> None:
    """A numeric `at` is checked like a written one: past or too far is a 422, nothing kept,
    and the list still answers."""
    body = {"endpoint": "GET /hello", "mode": "migrated", "reason": "x"}
    for at in (time.time() - 60, 1e300):
        refused = await client.post(
            "/_strangler/flags/scheduled", json={**body, "at": at}, headers=ADMIN
        )
        assert refused.status_code == 422, refused.text
        assert "give a time to come" in refused.json()["error"]
    listed = await client.get("/_strangler/flags/scheduled", headers=ADMIN)
    assert (listed.status_code, listed.json()) == (200, [])
