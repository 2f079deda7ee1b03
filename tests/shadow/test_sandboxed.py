"""Shadowing writes in a sandbox (#23), on the blog pair over a real database (a SQLite file, a
PostgreSQL server started here): every endpoint shadowed at 100 %, replayed traffic leaves
exactly the rows the serving side wrote; a port that writes a wrong value or answers a
different error is caught; the faithful port gives no mismatch."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("flask_sqlalchemy")
pytest.importorskip("jwt")

from sqlalchemy import create_engine, select

from strangler.assembly import create_gateway
from strangler.flags.errors import InvalidFlag
from strangler.flags.model import Flag
from strangler.gateway.dispatch import Gateway
from strangler.sandbox.sql import cover, uncover
from strangler.shadow.tap import ShadowLimits, ShadowTap
from strangler.types import Mode
from tests.support.outbound import Service, counting_service
from tests.support.postgres import new_database
from tests.test_apps.blog import legacy_app, port_app
from tests.test_apps.blog.schema import articles, metadata, users


class Hold:
    """A Flask hook that holds legacy's served answer to a request marked `X-Hold` (in its
    bridge thread, before it reads the database) until released: other requests are served
    meanwhile, between that request's sandboxed call and its served one."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.released = threading.Event()

    def __call__(self) -> None:
        from flask import request

        from strangler.sandbox.context import active

        if request.headers.get("x-hold") and not active():  # the served call, not A/A's
            self.reached.set()
            self.released.wait(30)


ENDPOINTS = [
    "POST /users",
    "POST /login",
    "POST /articles",
    "POST /articles/{slug}/favorite",
    "GET /articles/{slug}",
]
ANY_LOAD = float("inf")  # in process the test's own client keeps the CPU busy


@pytest.fixture(scope="module")
def postgres_url(postgres_cluster: str) -> str:
    """This module's own database on the session's PostgreSQL."""
    return new_database(postgres_cluster, "shadow_sandboxed")


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty blog database on each real database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/blog.db"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = create_engine(url)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    engine.dispose()
    return url


def build(url: str, *, broken: bool = False, hold: Hold | None = None) -> tuple[Gateway, list[Any]]:
    """The gateway over the blog pair on `url`, both apps' engines covered by the sandbox;
    legacy holds the requests `hold` marks."""
    legacy, db = legacy_app.create_app(url)
    if hold is not None:
        legacy.before_request(hold)
    port, port_engine = port_app.create_app(url, broken=broken)
    with legacy.app_context():
        engines = [cover(db.engine), cover(port_engine)]
    tap = ShadowTap(limits=ShadowLimits(max_cpu=ANY_LOAD, timeout=30))
    gateway = create_gateway(legacy, port, "memory:", admin_token="t" * 16, shadow=tap)
    return gateway, engines


@pytest.fixture
async def served(database: str) -> AsyncIterator[tuple[Gateway, httpx.AsyncClient]]:
    gateway, engines = build(database)
    transport = httpx.ASGITransport(app=gateway)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://blog") as client:
            yield gateway, client
    finally:
        gateway.close()
        for engine in engines:
            uncover(engine)
            engine.dispose()


def shadow_everything(gateway: Gateway, serving: Mode = Mode.LEGACY) -> None:
    service = gateway.runtime.service
    for key in ENDPOINTS:
        service.store.set(key, Flag.build(serving.value), actor="test", reason="serve")
        service.shadow(key, 100, actor="test", reason="compare writes")
    gateway.watcher.refresh()


async def traffic(client: httpx.AsyncClient) -> list[int]:
    """A session of a blog's clients: register, a taken name, log in, write, favorite, read."""
    statuses = []
    for name in ("ada", "bob", "ada"):
        answer = await client.post(
            "/users", json={"username": name, "email": f"{name}@x.org", "password": "pw"}
        )
        statuses.append(answer.status_code)
    login = await client.post("/login", json={"username": "ada", "password": "pw"})
    statuses.append(login.status_code)
    auth = {"Authorization": "Token " + login.json()["token"]}
    for title in ("Hello World", "Hello World"):
        answer = await client.post("/articles", json={"title": title, "body": "b"}, headers=auth)
        statuses.append(answer.status_code)
    for _ in range(2):
        answer = await client.post("/articles/hello-world/favorite", headers=auth)
        statuses.append(answer.status_code)
    statuses.append((await client.get("/articles/hello-world")).status_code)
    statuses.append((await client.get("/articles/nothing")).status_code)
    return statuses


EXPECTED = [201, 201, 409, 200, 201, 409, 200, 200, 200, 404]


async def settled(gateway: Gateway, shadowed: int) -> dict[str, dict[str, Any]]:
    """Every endpoint's report once `shadowed` requests were compared or counted (at most 30 s)."""
    tap = gateway.shadow
    assert tap is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        done = sum(
            r.compared + r.timed_out + r.failed + r.too_big + r.dropped + r.busy
            for r in tap.records.values()
        )
        if done >= shadowed:
            break
        await asyncio.sleep(0.02)
    return {e["endpoint"]: e for e in tap.report()["endpoints"]}


def rows(url: str) -> tuple[list[str], list[tuple[str, int]]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            names = sorted(connection.execute(select(users.c.username)).scalars())
            posts = [
                (row.slug, row.favorites)
                for row in connection.execute(select(articles.c.slug, articles.c.favorites))
            ]
    finally:
        engine.dispose()
    return names, posts


@pytest.mark.parametrize("serving", [Mode.LEGACY, Mode.MIGRATED])
async def test_shadowed_writes_leave_only_the_served_rows_and_match(
    served: tuple[Gateway, httpx.AsyncClient], database: str, serving: Mode
) -> None:
    """Every endpoint, writes included, shadowed at 100 % on the faithful port: clients get the
    served answers, the database holds exactly the served writes (no second registration, one
    favorite per request), and every comparison matches."""
    gateway, client = served
    assert gateway.runtime.sandbox.covers_writes, gateway.runtime.sandbox.problem
    shadow_everything(gateway, serving)
    assert await traffic(client) == EXPECTED
    report = await settled(gateway, len(EXPECTED))
    assert rows(database) == (["ada", "bob"], [("hello-world", 2)])
    compared = {key: entry["compared"] for key, entry in report.items()}
    assert compared == {
        "POST /users": 3,
        "POST /login": 1,
        "POST /articles": 2,
        "POST /articles/{slug}/favorite": 2,
        "GET /articles/{slug}": 2,
    }
    assert {key: entry["mismatched"] for key, entry in report.items()} == dict.fromkeys(report, 0)


async def test_a_port_that_writes_a_wrong_value_or_answers_another_error_is_caught(
    database: str,
) -> None:
    """The broken port (favorites by two; 422 for a taken name), shadowed on live traffic
    served by legacy: both slips are mismatches, and the rows are still legacy's alone."""
    gateway, engines = build(database, broken=True)
    try:
        transport = httpx.ASGITransport(app=gateway)
        async with httpx.AsyncClient(transport=transport, base_url="http://blog") as client:
            shadow_everything(gateway)
            assert await traffic(client) == EXPECTED
            report = await settled(gateway, len(EXPECTED))
    finally:
        gateway.close()
        for engine in engines:
            uncover(engine)
            engine.dispose()
    assert rows(database) == (["ada", "bob"], [("hello-world", 2)])
    favorite = report["POST /articles/{slug}/favorite"]
    assert favorite["mismatched"] == 2
    assert favorite["mismatched_where"] == {"$.article.favorites": 2}
    register = report["POST /users"]
    assert register["mismatched"] == 1  # the taken name only
    assert "status" in register["mismatched_where"]
    assert report["GET /articles/{slug}"]["mismatched"] == 0


def test_writes_are_not_shadowed_where_no_sandbox_covers_them(tmp_path: Path) -> None:
    """Without a covered database an unsafe method's shadow is refused, saying why and what
    to do; a safe method's is taken."""
    url = f"sqlite:///{tmp_path}/blog.db"
    metadata.create_all(create_engine(url))
    legacy, _ = legacy_app.create_app(url)
    port, engine = port_app.create_app(url)
    gateway = create_gateway(legacy, port, "memory:", admin_token="t" * 16)
    try:
        service = gateway.runtime.service
        with pytest.raises(InvalidFlag, match=r"no sandbox covers it.*sandbox_databases"):
            service.shadow("POST /users", 100, actor="test", reason="compare writes")
        service.shadow("GET /articles/{slug}", 100, actor="test", reason="compare reads")
    finally:
        gateway.close()
        engine.dispose()


@pytest.fixture
def mail() -> Iterator[Service]:
    """A mail service on loopback: counts what reaches it."""
    with counting_service(202) as service:
        yield service


def mailing_pair(mail: str, *, port_mails: bool) -> tuple[Any, Any]:
    """Legacy mails a welcome on POST /welcome (requests); the port does too (httpx), or not."""
    import requests
    from fastapi import FastAPI
    from flask import Flask, jsonify

    legacy = Flask("mailing")

    @legacy.post("/welcome/<name>")
    def welcome(name: str) -> Any:
        sent = requests.post(mail, data=f"welcome {name}".encode(), timeout=5)
        return jsonify(welcomed=name, mail=sent.status_code in (202, 503))

    port = FastAPI()

    @port.post("/welcome/{name}")
    async def port_welcome(name: str) -> dict[str, Any]:
        if port_mails:
            async with httpx.AsyncClient() as client:
                sent = await client.post(mail, content=f"welcome {name}".encode())
            return {"welcomed": name, "mail": sent.status_code in (202, 503)}
        return {"welcomed": name, "mail": True}

    return legacy, port


@pytest.mark.parametrize("port_mails", [True, False])
async def test_outbound_calls_are_compared_and_only_the_served_ones_sent(
    mail: Service, port_mails: bool
) -> None:
    """A shadowed endpoint that sends mail: each request's mail reaches the service once (the
    served call's; the sandboxed call's is recorded, not sent); a port that forgets to send it
    differs in its outbound calls, a faithful one matches."""
    legacy, port = mailing_pair(mail.url + "/send", port_mails=port_mails)
    tap = ShadowTap(limits=ShadowLimits(max_cpu=ANY_LOAD, timeout=30))
    gateway = create_gateway(legacy, port, "memory:", admin_token="t" * 16, shadow=tap)
    try:
        gateway.runtime.service.shadow(
            "POST /welcome/{name}",
            100,
            side_effect_free="its one effect, the mail, is an outbound call the sandbox records",
            actor="test",
            reason="compare",
        )
        gateway.watcher.refresh()
        transport = httpx.ASGITransport(app=gateway)
        async with httpx.AsyncClient(transport=transport, base_url="http://g") as client:
            for name in ("ada", "bob", "eve"):
                answer = await client.post(f"/welcome/{name}")
                assert answer.json() == {"welcomed": name, "mail": True}
            report = await settled(gateway, 3)
    finally:
        gateway.close()
    assert sorted(body for _, body in mail.hits) == [b"welcome ada", b"welcome bob", b"welcome eve"]
    entry = report["POST /welcome/{name}"]
    assert entry["compared"] == 3
    if port_mails:
        assert entry["mismatched"] == 0, entry["last_mismatches"][:1]
    else:
        assert (entry["mismatched"], entry["mismatched_where"]) == (3, {"outbound calls": 3})


async def test_a_sandbox_that_cannot_hold_its_database_is_a_failed_call_not_a_mismatch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the sandbox cannot begin on the database (SQLite locked past its busy timeout, the
    server away), the sandboxed side answers an error that says nothing of the port: the call
    is counted as failed, and no mismatch is reported."""
    from sqlalchemy.exc import OperationalError

    from strangler.sandbox import sql

    url = f"sqlite:///{tmp_path}/blog.db"
    metadata.create_all(create_engine(url))
    gateway, engines = build(url)

    def locked(self: object, engine: object, writes: bool) -> None:
        raise OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))

    monkeypatch.setattr(sql._Transaction, "__init__", locked)
    try:
        transport = httpx.ASGITransport(app=gateway)
        async with httpx.AsyncClient(transport=transport, base_url="http://blog") as client:
            # Served by the port: legacy, sandboxed, answers Flask's own 500 (it does not raise).
            shadow_everything(gateway, Mode.MIGRATED)
            answer = await client.post(
                "/users", json={"username": "ann", "email": "a@x.org", "password": "pw"}
            )
            assert answer.status_code == 201  # the client's answer is the served one
            report = await settled(gateway, 1)
    finally:
        gateway.close()
        for engine in engines:
            uncover(engine)
            engine.dispose()
    entry = report["POST /users"]
    assert (entry["failed"], entry["compared"], entry["mismatched"]) == (1, 0, 0), entry


FAVORITE = "POST /articles/{slug}/favorite"


def one_in_three(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tap's draw made a cycle (0, 50, 90 out of 100): at a share of 34 % the first of
    every three requests to the endpoint is shadowed, the next two are not."""
    from types import SimpleNamespace

    from strangler.shadow import tap

    draws = itertools.cycle([0.0, 0.5, 0.9])
    monkeypatch.setattr(tap, "random", SimpleNamespace(random=lambda: next(draws)))


async def an_author(gateway: Gateway, client: httpx.AsyncClient) -> dict[str, str]:
    """A user with an article `hello-world` (made before anything is shadowed), and favorite
    served by legacy and shadowed at 34 %; returns the user's authorization header."""
    body = {"username": "ada", "email": "ada@x.org", "password": "pw"}
    assert (await client.post("/users", json=body)).status_code == 201
    login = await client.post("/login", json={"username": "ada", "password": "pw"})
    auth = {"Authorization": "Token " + login.json()["token"]}
    made = await client.post("/articles", json={"title": "Hello World", "body": "b"}, headers=auth)
    assert made.status_code == 201
    service = gateway.runtime.service
    service.store.set(FAVORITE, Flag.build(Mode.LEGACY.value), actor="test", reason="serve")
    service.shadow(FAVORITE, 34, actor="test", reason="compare a share of the writes")
    gateway.watcher.refresh()
    return auth


@pytest.mark.parametrize("broken", [False, True])
async def test_unshadowed_writes_served_meanwhile_make_a_comparison_raced_not_a_mismatch(
    database: str, monkeypatch: pytest.MonkeyPatch, broken: bool
) -> None:
    """favorite shadowed on one request in three: two unshadowed favorites served at once
    between a shadowed request's sandboxed call and its served one make its comparison raced,
    not a mismatch (#23); a shadowed request nobody raced is still compared, so the port that
    favorites by two is caught under the same traffic and the faithful one matches."""
    one_in_three(monkeypatch)
    hold = Hold()
    gateway, engines = build(database, broken=broken, hold=hold)
    url = "/articles/hello-world/favorite"
    try:
        transport = httpx.ASGITransport(app=gateway)
        async with httpx.AsyncClient(transport=transport, base_url="http://blog") as client:
            auth = await an_author(gateway, client)
            held = asyncio.create_task(client.post(url, headers={**auth, "X-Hold": "1"}))
            assert await asyncio.to_thread(hold.reached.wait, 30), "legacy never held it"
            unshadowed = await asyncio.gather(*(client.post(url, headers=auth) for _ in "ab"))
            hold.released.set()
            answers = [await held, *unshadowed]
            answers += [await client.post(url, headers=auth) for _ in range(3)]  # quiet
            report = await settled(gateway, 2)
    finally:
        hold.released.set()
        gateway.close()
        for engine in engines:
            uncover(engine)
            engine.dispose()
    assert [a.status_code for a in answers] == [200] * 6
    # The clients got legacy's answers: the held request counted after the two served meanwhile
    # (each of which reads the count after its commit: 1 and 2, or 2 and 2).
    favorites = [a.json()["article"]["favorites"] for a in answers]
    assert (favorites[0], favorites[3:]) == (3, [4, 5, 6])
    assert rows(database) == (["ada"], [("hello-world", 6)])
    entry = report[FAVORITE]
    counts = (entry["compared"], entry["matched"], entry["raced"], entry["mismatched"])
    if broken:
        assert counts == (2, 0, 1, 1), entry
        assert entry["mismatched_where"] == {"$.article.favorites": 1}
    else:
        assert counts == (2, 1, 1, 0), entry


@pytest.mark.parametrize("broken", [False, True])
async def test_concurrent_unshadowed_writers_make_no_false_mismatch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken: bool
) -> None:
    """Six clients favoriting at once on a SQLite file, one request in three shadowed: the
    faithful port has no mismatch (what the unshadowed writes changed is counted as raced);
    the port that favorites by two, which a race can hide (it is off by one too), is still
    caught on a shadowed request served alone after them."""
    one_in_three(monkeypatch)
    url = f"sqlite:///{tmp_path}/blog.db"
    metadata.create_all(create_engine(url))
    gateway, engines = build(url, broken=broken)
    path = "/articles/hello-world/favorite"
    try:
        transport = httpx.ASGITransport(app=gateway)
        async with httpx.AsyncClient(transport=transport, base_url="http://blog") as client:
            auth = await an_author(gateway, client)

            async def favorite(times: int) -> list[int]:
                return [(await client.post(path, headers=auth)).status_code for _ in range(times)]

            runs = await asyncio.gather(*(favorite(4 + 4 * i) for i in range(6)))  # 84
            runs.append(await favorite(3))  # alone: the first of them is shadowed
            total = sum(len(run) for run in runs)
            report = await settled(gateway, total // 3)
    finally:
        gateway.close()
        for engine in engines:
            uncover(engine)
            engine.dispose()
    assert {status for run in runs for status in run} == {200}
    assert rows(url) == (["ada"], [("hello-world", total)])
    entry = report[FAVORITE]
    assert entry["compared"] == entry["matched"] + entry["raced"] + entry["mismatched"], entry
    if broken:
        assert entry["mismatched"] > 0, entry
        assert set(entry["mismatched_where"]) == {"$.article.favorites"}
    else:
        assert entry["compared"] > 0, entry
        assert entry["mismatched"] == 0, entry["last_mismatches"][:1]


async def test_an_engine_nobody_covered_is_a_failed_call_not_a_mismatch(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A port whose engine was left out of `sandbox_databases` is stopped in the sandbox
    (UncoveredDatabase), and answers 500: that says nothing of the port, so the call is
    counted as failed, not as a mismatch, and the server's log says which engine."""
    url = f"sqlite:///{tmp_path}/blog.db"
    metadata.create_all(create_engine(url))
    gateway, engines = build(url)
    uncover(engines[1])  # the port's
    try:
        transport = httpx.ASGITransport(app=gateway)
        async with httpx.AsyncClient(transport=transport, base_url="http://blog") as client:
            shadow_everything(gateway)
            body = {"username": "ann", "email": "a@x.org", "password": "pw"}
            assert (await client.post("/users", json=body)).status_code == 201
            report = await settled(gateway, 1)
    finally:
        gateway.close()
        for engine in engines:
            uncover(engine)
            engine.dispose()
    entry = report["POST /users"]
    assert (entry["failed"], entry["compared"], entry["mismatched"]) == (1, 0, 0), entry
    assert "which the sandbox does not cover" in caplog.text
    assert rows(url) == (["ann"], [])
