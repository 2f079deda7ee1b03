"""The gate in front of the admin app (strangler.admin.gate): credentials checked before a body is
read, admin bodies bounded, wrong credentials logged and throttled per client (#22)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest

from strangler.assembly import create_gateway
from strangler.gateway.dispatch import Gateway
from strangler.types import Message
from tests.support.pair_gateway import ADMIN_TOKEN
from tests.test_apps import pair

BIG = 9 * 2**20
LIMIT = 64 * 1024  # admin_max_body's default


class Exchange:
    """One request through an ASGI app in process, with a body sent in chunks, counting how
    many of them the app (or the gate) asked for."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.reads = 0
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body = b""

    async def receive(self) -> Message:
        self.reads += 1
        if self.reads <= len(self.chunks):
            more = self.reads < len(self.chunks)
            return {"type": "http.request", "body": self.chunks[self.reads - 1], "more_body": more}
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = {k.decode().lower(): v.decode() for k, v in message["headers"]}
        else:
            self.body += message.get("body", b"")


async def call(
    app: Gateway,
    method: str,
    path: str,
    headers: dict[str, str],
    chunks: list[bytes],
    client: str = "10.0.0.7",
) -> Exchange:
    exchange = Exchange(chunks)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8000")]
        + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": (client, 50000),
        "server": ("127.0.0.1", 8000),
    }
    await app(scope, exchange.receive, exchange.send)
    return exchange


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    gateway = create_gateway(pair.legacy, pair.migrated, "memory:", admin_token=ADMIN_TOKEN)
    yield gateway
    gateway.close()


JSON = {"content-type": "application/json"}
BEARER = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def test_an_unauthenticated_body_is_refused_before_it_is_read(gateway: Gateway) -> None:
    """A 9 MB POST without the credential is answered 401 with not one chunk of it read."""
    declared = {**JSON, "content-length": str(BIG)}
    for headers in (declared, {**declared, "Authorization": "Bearer wrong-token-here"}):
        answer = await call(gateway, "POST", "/_strangler/flags", headers, [b"{" * 65536] * 144)
        assert answer.status == 401
        assert answer.reads == 0
        assert answer.headers["www-authenticate"] == "Bearer"
        assert answer.headers["connection"] == "close"  # the server stops reading it


async def test_a_refusal_without_a_body_keeps_the_connection(gateway: Gateway) -> None:
    """A GET refused for want of a credential leaves its connection open (nothing is unread)."""
    answer = await call(gateway, "GET", "/_strangler/flags", {}, [])
    assert answer.status == 401
    assert "connection" not in answer.headers


async def test_a_read_credential_posting_is_refused_before_its_body_is_read() -> None:
    """A change by a read credential is answered 403 without its body being read."""
    gateway = create_gateway(
        pair.legacy, pair.migrated, "memory:", admin_tokens="ci:read:ci-read-token-0123456"
    )
    headers = {**JSON, "Authorization": "Bearer ci-read-token-0123456", "content-length": "10"}
    answer = await call(gateway, "POST", "/_strangler/flags", headers, [b"{}"])
    assert answer.status == 403
    assert answer.reads == 0
    gateway.close()


async def test_a_declared_body_past_admin_max_body_is_refused_unread(gateway: Gateway) -> None:
    """With the credential, a body declared larger than admin_max_body is answered 413 unread."""
    headers = {**JSON, **BEARER, "content-length": str(LIMIT + 1)}
    answer = await call(gateway, "POST", "/_strangler/flags", headers, [b" " * (LIMIT + 1)])
    assert answer.status == 413
    assert answer.reads == 0
    assert "admin_max_body" in answer.body.decode()


async def test_a_chunked_body_is_read_no_further_than_the_limit(gateway: Gateway) -> None:
    """A body without a length stops being read once it passes admin_max_body: 413."""
    chunks = [b" " * 8192] * 20
    answer = await call(gateway, "POST", "/_strangler/flags", {**JSON, **BEARER}, chunks)
    assert answer.status == 413
    assert answer.reads == LIMIT // 8192 + 1


async def test_admin_max_body_is_a_setting() -> None:
    """A gateway given a smaller admin_max_body refuses past it."""
    gateway = create_gateway(
        pair.legacy, pair.migrated, "memory:", admin_token=ADMIN_TOKEN, admin_max_body=100
    )
    headers = {**JSON, **BEARER, "content-length": "101"}
    assert (await call(gateway, "POST", "/_strangler/flags", headers, [b" " * 101])).status == 413
    gateway.close()


async def test_a_body_within_the_limit_reaches_the_app(gateway: Gateway) -> None:
    """A change in chunks, under the limit, is read and served as before."""
    body = b'{"endpoint": "GET /hello", "mode": "migrated", "reason": "test"}'
    answer = await call(
        gateway, "POST", "/_strangler/flags", {**JSON, **BEARER}, [body[:10], body[10:]]
    )
    assert answer.status == 200, answer.body
    assert gateway.watcher.snapshot.flags["GET /hello"].mode == "migrated"


async def test_the_open_paths_and_the_login_form_take_tiny_bodies_only(gateway: Gateway) -> None:
    """Health and the dashboard's login form need no credential, so their bodies are tiny."""
    for path in ("/_strangler/health", "/_strangler/ui/login"):
        headers = {"content-type": "application/x-www-form-urlencoded", "content-length": "5000"}
        answer = await call(gateway, "POST", path, headers, [b"t" * 5000])
        assert answer.status == 413
        assert answer.reads == 0
    assert (await call(gateway, "GET", "/_strangler/health", {}, [b""])).status == 200


async def test_a_dashboard_change_without_a_session_is_refused_unread(gateway: Gateway) -> None:
    """A form posted to the dashboard without a live session is answered 401 unread."""
    headers = {"content-type": "application/x-www-form-urlencoded", "content-length": str(BIG)}
    for cookie in ({}, {"cookie": "strangler_session=forged.1.2"}):
        answer = await call(gateway, "POST", "/_strangler/ui/flag", {**headers, **cookie}, [b"x"])
        assert answer.status == 401
        assert answer.reads == 0


async def test_wrong_tokens_are_logged_then_throttled_per_client(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    """Each wrong token is logged with the client and the path (never the token); past ten a
    client is refused unchecked, even with the right token, while another client is not."""
    caplog.set_level(logging.WARNING, logger="strangler.admin")
    for guess in range(10):
        wrong = {"Authorization": f"Bearer guess-{guess}-secret"}
        assert (await call(gateway, "GET", "/_strangler/flags", wrong, [b""])).status == 401
    logged = [r.getMessage() for r in caplog.records if r.name == "strangler.admin"]
    assert logged == ["wrong admin credential from 10.0.0.7 on /_strangler/flags"] * 10
    assert "secret" not in caplog.text
    throttled = await call(gateway, "GET", "/_strangler/flags", BEARER, [b""])
    assert throttled.status == 429
    assert 1 <= int(throttled.headers["retry-after"]) <= 6
    other = await call(gateway, "GET", "/_strangler/flags", BEARER, [b""], client="10.0.0.8")
    assert other.status == 200
    no_token = await call(gateway, "GET", "/_strangler/flags", {}, [b""], client="10.0.0.9")
    assert no_token.status == 401  # asked without a token: not a guess, not counted


@pytest.mark.parametrize("prefix", ["/api", "/_s"])
async def test_the_admin_api_answers_under_a_root_path_the_path_leaves_out(
    gateway: Gateway, prefix: str
) -> None:
    """Under a root_path the request's path does not start with (httpx's ASGITransport, servers
    that leave it out), the admin API answers as without one: health open, the flags behind the
    credential, the dashboard's login form open (#21)."""
    transport = httpx.ASGITransport(app=gateway, root_path=prefix)
    # The dashboard answers its own hosts only (dashboard_hosts: loopback by default).
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        health = await client.get("/_strangler/health")
        assert health.status_code == 200, health.text
        assert health.json()["status"] == "ok"
        assert (await client.get("/_strangler/flags")).status_code == 401
        assert (await client.get("/_strangler/flags", headers=BEARER)).status_code == 200
        login = await client.get("/_strangler/ui/login")
        assert login.status_code == 200
        assert f'action="{prefix}/_strangler/ui/login"' in login.text


async def test_the_admin_api_answers_under_a_root_path_with_a_prefix_ending_in_a_slash() -> None:
    """An admin_prefix written with a trailing slash (`/_strangler/`, which the settings accept)
    reaches the admin API under a root_path the request's path leaves out, as without it (#21)."""
    gateway = create_gateway(
        pair.legacy, pair.migrated, "memory:", admin_token=ADMIN_TOKEN, admin_prefix="/_strangler/"
    )
    try:
        transport = httpx.ASGITransport(app=gateway, root_path="/api")
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            health = await client.get("/_strangler/health")
            assert health.status_code == 200, health.text
            assert (await client.get("/_strangler/flags", headers=BEARER)).status_code == 200
    finally:
        gateway.close()
