"""strangler.compat proven against Flask itself: the same hostile requests to a Flask app and to
its port written with the kit get answers a client cannot tell apart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import flask
import httpx
import pytest
from fastapi import FastAPI

from strangler import compat
from strangler.bridge.bridge import make_bridge
from tests.compat.apps import make_legacy, make_port
from tests.compat.differential import Send, differential

BASE = "http://testserver"
HOSTILE = [
    ("GET", "/notes", {}),
    ("GET", "/notes", {"params": {"limit": "abc"}}),
    ("GET", "/notes", {"params": [("limit", "1"), ("limit", "3"), ("tag", "a"), ("tag", "b")]}),
    ("GET", "/notes", {"params": {"limit": ""}}),
    ("GET", "/notes/2", {}),
    ("GET", "/notes/9", {}),
    ("GET", "/notes/x", {}),
    ("GET", "/notes/-1", {}),
    ("GET", "/nowhere", {}),
    ("PUT", "/notes", {}),
    ("OPTIONS", "/notes", {}),
    ("HEAD", "/notes/1", {}),
    ("DELETE", "/notes/1", {}),
    ("POST", "/notes", {"json": {"text": "hi"}}),
    ("POST", "/notes", {"json": {"nope": 1}}),
    ("POST", "/notes", {"json": [1, 2]}),
    ("POST", "/notes", {"content": b"{bad json", "headers": {"Content-Type": "application/json"}}),
    ("POST", "/notes", {"content": b'{"text": "x"}', "headers": {"Content-Type": "text/plain"}}),
    (
        "POST",
        "/notes",
        {"content": b'{"text": "x"}', "headers": {"Content-Type": "application/vnd.x+json"}},
    ),
    (
        "POST",
        "/notes",
        {"content": b"[" * 100_000, "headers": {"Content-Type": "application/json"}},
    ),
    ("POST", "/notes", {"json": {"text": "x"}, "headers": [("X-Via", "a"), ("X-Via", "b")]}),
    ("POST", "/echo", {"content": b"nope", "headers": {"Content-Type": "application/json"}}),
    ("POST", "/echo", {"content": b"1", "headers": {"Content-Type": "text/plain"}}),
    ("POST", "/login", {"data": {"name": "ada"}}),
    ("GET", "/me", {}),
]


@pytest.fixture
async def send() -> AsyncIterator[Send]:
    legacy = make_legacy()
    async with differential(legacy, make_port(legacy)) as sending:
        yield sending


@pytest.mark.parametrize(("method", "path", "options"), HOSTILE, ids=lambda v: str(v)[:40])
async def test_the_port_answers_hostile_requests_as_flask(
    send: Send, method: str, path: str, options: dict[str, object]
) -> None:
    """Bad types, missing fields, wrong content types and doubled headers get legacy's answer."""
    assert await send(method, path, **options) == []


async def test_a_login_on_either_backend_holds_on_the_other() -> None:
    """flask-login's session cookie from one backend logs the user in on the other."""
    legacy = make_legacy()
    port = make_port(legacy)
    async with differential(legacy, port) as send:
        # Each side logs in on its own, then reads /me: same cookies, same answers.
        assert await send("POST", "/login", data={"name": "ada", "password": "lovelace"}) == []
        assert await send("GET", "/me") == []
    bridge = make_bridge(legacy, threads=1)
    try:
        for first, second in ((bridge, port), (port, bridge)):
            async with (
                httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url=BASE) as a,
                httpx.AsyncClient(transport=httpx.ASGITransport(app=second), base_url=BASE) as b,
            ):
                login = await a.post("/login", data={"name": "ada", "password": "lovelace"})
                assert login.status_code == 200
                assert (await b.get("/me")).status_code == 401
                b.cookies = login.cookies
                me = await b.get("/me")
                assert (me.status_code, me.json()) == (200, {"user": "ada"})
    finally:
        bridge.pool.shutdown()


async def test_an_exception_a_route_lets_escape_is_answered_as_flask_and_not_raised() -> None:
    """An exception a route lets escape gets Flask's 500 page and stays in the app, as in Flask
    (which logs it once and never hands it to the server); found porting the worked example."""
    legacy = flask.Flask("boom")
    port = FastAPI()
    compat.install_legacy_errors(port)

    @legacy.post("/boom")
    def boom() -> Any:
        return flask.request.get_json()  # JSON nested too deep: a RecursionError escapes

    @port.post("/boom")
    async def boom_port(request: compat.Legacy) -> Any:
        return request.get_json()

    deep = {"content": b"[" * 100_000, "headers": {"Content-Type": "application/json"}}
    async with differential(legacy, port) as send:
        assert await send("POST", "/boom", **deep) == []
    # raise_app_exceptions is on: an exception re-raised after the answer fails the request.
    transport = httpx.ASGITransport(app=port)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        response = await client.post("/boom", **deep)
    assert (response.status_code, response.headers["content-type"]) == (
        500,
        "text/html; charset=utf-8",
    )
