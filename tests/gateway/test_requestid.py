"""Request ids (strangler.gateway.requestid): made, kept, passed to the apps and returned."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from strangler.gateway.dispatch import Gateway
from strangler.gateway.requestid import RequestIds
from tests.support.observed import client_for, set_flag


@pytest.fixture
async def gw() -> AsyncIterator[tuple[Gateway, httpx.AsyncClient]]:
    async for pair in client_for():
        yield pair


async def test_a_request_id_is_made_passed_to_the_app_and_returned(
    gw: tuple[Gateway, httpx.AsyncClient],
) -> None:
    """No id sent: one is made, the app sees it, the client gets it back; each is new."""
    _, client = gw
    first, second = await client.get("/ok"), await client.get("/ok")
    assert first.headers["x-request-id"] == first.json()["seen"]
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    await set_flag(client, "GET /ok", "migrated")
    third = await client.get("/ok")
    assert third.json()["app"] == "migrated"
    assert third.headers["x-request-id"] == third.json()["seen"]


@pytest.mark.parametrize(
    ("sent", "kept"),
    [("abc-123", True), ("trace:9f/x=1", True), ('has"quote', False), ("a" * 201, False)],
)
async def test_a_sound_request_id_is_kept_and_an_unsound_one_replaced(
    gw: tuple[Gateway, httpx.AsyncClient], sent: str, kept: bool
) -> None:
    """The client's id is kept when printable ASCII without quotes or backslashes (<= 200);
    otherwise the app and the client get a new one, never the bad one."""
    _, client = gw
    answer = await client.get("/ok", headers={"X-Request-ID": sent})
    assert (answer.headers["x-request-id"] == sent) is kept
    assert answer.json()["seen"] == answer.headers["x-request-id"]


async def test_an_app_that_sets_its_own_request_id_keeps_it(
    gw: tuple[Gateway, httpx.AsyncClient],
) -> None:
    _, client = gw
    answer = await client.get("/own-id")
    assert answer.headers.get_list("x-request-id") == ["the-app-s-own"]


async def test_request_ids_can_be_turned_off() -> None:
    async for _, client in client_for(request_id_header=None):
        answer = await client.get("/ok")
        assert "x-request-id" not in answer.headers
        assert answer.json()["seen"] is None


def test_new_ids_are_unique_under_a_prefix_of_their_own() -> None:
    """Every id one RequestIds makes is new and sound, under one prefix; another has another."""
    ids = RequestIds()
    made = [ids.new() for _ in range(1000)]
    assert len(set(made)) == len(made)
    assert all(RequestIds.valid(one) for one in made)
    prefixes = {one.split(b"-")[0] for one in made}
    assert len(prefixes) == 1
    assert RequestIds().new().split(b"-")[0] not in prefixes


@pytest.mark.parametrize(
    ("value", "sound"),
    [
        (b"abc-123", True),
        (b"trace:9f/x=1", True),
        (b"!#[]~", True),
        pytest.param(b"a" * 200, True, id="200-characters"),
        pytest.param(b"a" * 201, False, id="201-characters"),
        pytest.param(b"", False, id="empty"),
        (b'has"quote', False),
        (b"back\\slash", False),
        (b"has space", False),
        (b"new\nline", False),
        pytest.param("é".encode(), False, id="non-ascii"),
    ],
)
def test_a_sound_id_is_1_to_200_printable_ascii_without_quote_backslash_or_space(
    value: bytes, sound: bool
) -> None:
    """`valid` accepts what may be logged and passed on as it is, and nothing else."""
    assert RequestIds.valid(value) is sound


def test_an_id_the_app_set_in_any_case_is_found_and_ours_left_out() -> None:
    """The app's own request id is found whatever the case of its name (a plain ASGI app may
    send `X-Request-ID`, even as a bytearray): the client gets one id, the app's."""
    from strangler.gateway.dispatch import _added

    ours = [(b"x-strangler-backend", b"migrated"), (b"x-request-id", b"ours")]
    for name in (b"X-Request-ID", b"x-request-id", bytearray(b"X-REQUEST-ID")):
        headers = _added([(b"content-type", b"text/plain"), (name, b"app")], ours, b"x-request-id")
        assert [value for n, value in headers if n.lower() == b"x-request-id"] == [b"app"]
    added = _added([(b"content-type", b"text/plain")], ours, b"x-request-id")
    assert added == [(b"content-type", b"text/plain"), *ours]
