"""The dashboard in process (strangler.dashboard.app): sessions, refusals, changes, pages (#16)."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from strangler.assembly import create_gateway, runtime_of
from strangler.gateway.dispatch import Gateway
from tests.test_apps import rollout_pair

TOKENS = "ann:write:ann-secret-token,cy:read:cy-secret-token"
UI = "/_strangler/ui"


@pytest.fixture
async def gw() -> AsyncIterator[tuple[Gateway, httpx.AsyncClient]]:
    gateway = create_gateway(
        rollout_pair.legacy,
        rollout_pair.migrated,
        "memory:",
        admin_tokens=TOKENS,
        dashboard_hosts=["gw.test"],
    )
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="https://gw.test") as client:
        yield gateway, client
    gateway.close()


async def login(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(UI + "/login", data={"token": token})


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no form with a CSRF token on the page"
    return found.group(1)


async def test_without_a_session_every_page_and_action_is_refused(
    gw: tuple[Gateway, httpx.AsyncClient],
) -> None:
    _, client = gw
    for page in ("/", "/history", "/mismatches"):
        answer = await client.get(UI + page)
        assert answer.status_code == 303
        assert answer.headers["location"].endswith("/ui/login")
    assert (await client.get(UI + "/table")).status_code == 401
    for action in ("/flag", "/shadow", "/rollback"):
        body = {"endpoint": "GET /work", "mode": "migrated", "reason": "x", "csrf": "x"}
        assert (await client.post(UI + action, data=body)).status_code == 401
    wrong = await login(client, "not-a-token")
    assert wrong.status_code == 401
    assert "not an admin credential" in wrong.text
    assert "strangler_session" not in wrong.headers.get("set-cookie", "")
    assert (await client.get(UI + "/")).status_code == 303
    client.cookies.set("strangler_session", "ann.9999999999.x.y.z")  # forged
    assert (await client.get(UI + "/")).status_code == 303


async def test_a_session_shows_every_endpoint_and_makes_an_audited_change(
    gw: tuple[Gateway, httpx.AsyncClient],
) -> None:
    gateway, client = gw
    answer = await login(client, "ann-secret-token")
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "ann-secret-token" not in cookie
    page = (await client.get(UI + "/")).text
    for key in ("GET /work", "POST /work", "GET /other", "GET /legacy-only"):
        assert key in page
    body = {
        "endpoint": "GET /work",
        "mode": "canary",
        "percentage": "25",
        "reason": "try the port",
        "csrf": csrf_of(page),
    }
    done = await client.post(UI + "/flag", data=body, headers={"Origin": "http://gw.test"})
    assert done.status_code == 303
    assert "GET+%2Fwork%3A+canary+25%25" in done.headers["location"]
    entry = gateway.runtime.service.history("GET /work")[0]
    assert (entry.actor, entry.reason) == ("ann (dashboard)", "try the port")
    history = (await client.get(UI + "/history", params={"endpoint": "GET /work"})).text
    assert "try the port" in history
    assert "canary 25%" in history
    rolled = await client.post(
        UI + "/rollback",
        data={"endpoint": "GET /work", "reason": "not yet", "csrf": csrf_of(page)},
    )
    assert rolled.status_code == 303
    assert gateway.runtime.service.history("GET /work")[0].after.describe() == "legacy"


async def test_a_change_from_another_origin_or_a_stale_form_is_refused(
    gw: tuple[Gateway, httpx.AsyncClient],
) -> None:
    gateway, client = gw
    await login(client, "ann-secret-token")
    page = (await client.get(UI + "/")).text
    body = {"endpoint": "GET /work", "mode": "migrated", "reason": "x", "csrf": csrf_of(page)}
    evil = await client.post(UI + "/flag", data=body, headers={"Origin": "http://evil.test"})
    assert evil.status_code == 403
    cross = await client.post(UI + "/flag", data=body, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    stale = await client.post(UI + "/flag", data={**body, "csrf": "guessed"})
    assert stale.status_code == 403
    no_reason = await client.post(UI + "/flag", data={**body, "reason": " "})
    assert "say+why" in no_reason.headers["location"]
    assert gateway.runtime.service.history() == []  # none of them changed anything


async def test_a_read_credential_sees_but_cannot_change(
    gw: tuple[Gateway, httpx.AsyncClient],
) -> None:
    gateway, client = gw
    await login(client, "cy-secret-token")
    page = (await client.get(UI + "/")).text
    assert "GET /work" in page
    assert 'name="csrf"' not in page  # no forms
    answer = await client.post(
        UI + "/flag", data={"endpoint": "GET /work", "mode": "migrated", "reason": "x"}
    )
    assert answer.status_code == 403
    assert gateway.runtime.service.history() == []


async def test_the_status_and_the_table_fragment(gw: tuple[Gateway, httpx.AsyncClient]) -> None:
    _, client = gw
    await login(client, "ann-secret-token")
    for _ in range(3):
        await client.get("/work")
    fragment = await client.get(UI + "/table")
    assert fragment.status_code == 200
    assert '<table id="endpoints">' in fragment.text
    status = await client.get(
        "/_strangler/status", headers={"Authorization": "Bearer ann-secret-token"}
    )
    assert status.status_code == 200
    data = status.json()
    assert {e["endpoint"] for e in data["endpoints"]} >= {"GET /work", "GET /legacy-only"}
    assert data["legacy_can_be_deleted"] is False


async def test_a_mismatch_is_shown_with_both_answers_and_as_a_case() -> None:
    """The port's one slip (item 13), shadowed: both answers side by side, the case to copy."""
    from strangler.shadow.tap import ShadowLimits, ShadowTap
    from tests.shadow.test_tap import settled
    from tests.test_apps import shadow_pair

    tap = ShadowTap(limits=ShadowLimits(max_cpu=float("inf")))
    gateway = create_gateway(
        shadow_pair.legacy,
        shadow_pair.migrated,
        "memory:",
        admin_tokens=TOKENS,
        shadow=tap,
        dashboard_hosts=["gw.test"],
    )
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="https://gw.test") as client:
        key = "GET /items/{item_id}"
        gateway.runtime.service.shadow(key, 100, actor="ann", reason="watch")
        gateway.watcher.refresh()
        for item in range(1, 31):
            await client.get(f"/items/{item}")
        await settled(gateway, key, 30)
        await login(client, "ann-secret-token")
        page = (await client.get(UI + "/mismatches", params={"endpoint": key})).text
        assert "1 mismatched of" in page
        assert "item thirteen" in page
        assert "item 13" in page
        assert 'class="pair"' in page
        assert 'class="case"' in page
        assert "path: /items/13" in page  # the case, ready for the corpus
        overview = (await client.get(UI + "/")).text
        assert "mismatches?endpoint=GET%20/items/%7Bitem_id%7D" in overview
    gateway.close()


async def test_a_canary_without_a_number_is_an_error_on_the_page(
    gw: tuple[Gateway, httpx.AsyncClient],
) -> None:
    gateway, client = gw
    await login(client, "ann-secret-token")
    page = (await client.get(UI + "/")).text
    body = {"endpoint": "GET /work", "mode": "canary", "percentage": "", "reason": "x"}
    answer = await client.post(UI + "/flag", data={**body, "csrf": csrf_of(page)})
    assert answer.status_code == 303
    assert "give+the+percentage+as+a+number" in answer.headers["location"]
    assert gateway.runtime.service.history() == []
    cross_login = await client.post(
        UI + "/login", data={"token": "ann-secret-token"}, headers={"Origin": "http://evil.test"}
    )
    assert cross_login.status_code == 403


async def test_the_dashboard_answers_only_on_its_own_host_name() -> None:
    """Not on the host the apps are served on: a script in one of their pages shares that
    origin, and could read a logged-in operator's CSRF token."""
    gateway = create_gateway(
        rollout_pair.legacy,
        rollout_pair.migrated,
        "memory:",
        admin_tokens=TOKENS,
        dashboard_hosts=["admin.gw.test"],
    )
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.gw.test") as client:
        assert (await client.get(UI + "/login")).status_code == 404
        assert (
            await client.post(UI + "/login", data={"token": "ann-secret-token"})
        ).status_code == 404
        assert (await client.get("/work")).status_code == 200  # the apps as ever
    async with httpx.AsyncClient(transport=transport, base_url="https://admin.gw.test") as client:
        assert (await client.get(UI + "/login")).status_code == 200
        answer = await login(client, "ann-secret-token")
        assert "Secure" in answer.headers["set-cookie"]  # not a loopback host
    gateway.close()


@pytest.mark.parametrize(
    "host",
    ["evil.com:127.0.0.1", "127.0.0.1@evil.com", "127.0.0.1:80:80", "127.0.0.1 evil.com", "", None],
    ids=["second-colon", "user-part", "two-ports", "space", "empty", "none"],
)
async def test_a_malformed_host_is_refused(host: str | None) -> None:
    """A Host that is not exactly host[:port], or none, is refused: no fallback to the server's
    own address lets it pass the loopback rule (#22)."""
    gateway = create_gateway(
        rollout_pair.legacy, rollout_pair.migrated, "memory:", admin_tokens=TOKENS
    )
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    headers = [] if host is None else [(b"host", host.encode())]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": UI + "/login",
        "raw_path": (UI + "/login").encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    await gateway(scope, receive, send)
    assert sent[0]["status"] == 404
    scope["headers"] = [(b"host", b"127.0.0.1:8000")]
    sent.clear()
    await gateway(scope, receive, send)
    assert sent[0]["status"] == 200  # the same request, well-formed
    gateway.close()


async def test_the_error_box_shows_only_the_dashboard_s_own_notes(
    gw: tuple[Gateway, httpx.AsyncClient],
) -> None:
    """`?error=` or `?message=` text from a link elsewhere is not shown; the dashboard's own
    note, after a change, is (#22)."""
    _, client = gw
    await login(client, "ann-secret-token")
    planted = "Your session expired: call +1 555 0100 with your admin token"
    for kind in ("error", "message"):
        page = (await client.get(UI + "/", params={kind: planted})).text
        assert "Your session expired" not in page
        assert f'id="{kind}"' not in page
        forged = await client.get(UI + "/", params={kind: planted + ".AAAAAA.forged"})
        assert "Your session expired" not in forged.text
    page = (await client.get(UI + "/")).text
    body = {"endpoint": "GET /work", "mode": "canary", "percentage": "", "reason": "x"}
    answer = await client.post(UI + "/flag", data={**body, "csrf": csrf_of(page)})
    shown = (await client.get(answer.headers["location"])).text
    assert '<div class="note error" id="error">give the percentage as a number' in shown


async def test_wrong_logins_are_logged_then_throttled(
    gw: tuple[Gateway, httpx.AsyncClient], caplog: pytest.LogCaptureFixture
) -> None:
    """Ten wrong tokens at the login form are each logged without the token; the eleventh try,
    right or wrong, is answered 429 with Retry-After (#22)."""
    _, client = gw
    caplog.set_level(logging.WARNING, logger="strangler.admin")
    for guess in range(10):
        assert (await login(client, f"guess-{guess}-secret")).status_code == 401
    logged = [r.getMessage() for r in caplog.records if r.name == "strangler.admin"]
    assert logged == ["wrong admin credential from 127.0.0.1 on /_strangler/ui/login"] * 10
    assert "secret" not in caplog.text
    refused = await login(client, "ann-secret-token")
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert "try again in" in refused.text
    assert "strangler_session" not in refused.headers.get("set-cookie", "")


async def test_concurrent_wrong_logins_get_no_more_than_the_allowance(
    gw: tuple[Gateway, httpx.AsyncClient],
) -> None:
    """Forty wrong tokens sent at once are checked ten times at most (#22)."""
    _, client = gw
    answers = await asyncio.gather(*(login(client, f"guess-{n}") for n in range(40)))
    assert sorted(a.status_code for a in answers) == [401] * 10 + [429] * 30


def keep_a_mismatch(gateway: Gateway) -> str:
    """One mismatch kept in the gateway's store, as a worker folds it; its endpoint."""
    from strangler.shadow import findings
    from tests.shadow.test_findings import mismatch, worker_report

    key = "GET /work"
    found = {**worker_report(3, [mismatch("2024-01-01T00:00:01", "/work")]), "endpoint": key}
    change = findings.delta(found, None)
    assert change is not None
    runtime_of(gateway).service.store.update_findings(
        key, lambda doc: findings.fold(doc, change, key)
    )
    return key


async def test_the_mismatches_page_acknowledges_and_clears_the_findings_kept(
    gw: tuple[Gateway, httpx.AsyncClient],
) -> None:
    """The mismatches page has forms to acknowledge and clear the findings kept; each needs
    the session's CSRF token, and is logged with the dashboard's actor (#23)."""
    gateway, client = gw
    key = keep_a_mismatch(gateway)
    await login(client, "ann-secret-token")
    page = (await client.get(UI + "/mismatches")).text
    assert "Acknowledge" in page
    body = {"endpoint": key, "reason": "known", "csrf": csrf_of(page)}
    forged = await client.post(UI + "/shadow/ack", data={**body, "csrf": "guessed"})
    assert forged.status_code == 403
    acked = await client.post(UI + "/shadow/ack", data=body)
    assert acked.status_code == 303, acked.text
    page = (await client.get(UI + "/mismatches")).text
    assert "Acknowledged by ann (dashboard)" in page
    assert "0 mismatched since" in page
    cleared = await client.post(UI + "/shadow/clear", data=body)
    assert cleared.status_code == 303
    assert "No shadow mismatches kept" in (await client.get(UI + "/mismatches")).text


async def test_a_read_credential_sees_the_findings_but_cannot_acknowledge_them(
    gw: tuple[Gateway, httpx.AsyncClient],
) -> None:
    """A `read` session gets no acknowledge or clear form, and a post is refused (403)."""
    gateway, client = gw
    key = keep_a_mismatch(gateway)
    await login(client, "cy-secret-token")
    page = (await client.get(UI + "/mismatches")).text
    assert "1 mismatched" in page
    assert "Acknowledge" not in page
    answer = await client.post(UI + "/shadow/clear", data={"endpoint": key, "reason": "x"})
    assert answer.status_code == 403


async def test_the_mismatches_page_names_the_configured_corpus_folder() -> None:
    """A mismatch's corpus case says to copy it into the folder the settings' `contracts`
    names, not a fixed `contract_tests/` (#24)."""
    gateway = create_gateway(
        rollout_pair.legacy,
        rollout_pair.migrated,
        "memory:",
        admin_tokens=TOKENS,
        dashboard_hosts=["gw.test"],
        contracts="/srv/shop/corpus",
    )
    try:
        keep_a_mismatch(gateway)
        transport = httpx.ASGITransport(app=gateway)
        async with httpx.AsyncClient(transport=transport, base_url="https://gw.test") as client:
            await login(client, "cy-secret-token")
            page = (await client.get(UI + "/mismatches")).text
    finally:
        gateway.close()
    assert "As a corpus case (copy into /srv/shop/corpus/)" in page
    assert "contract_tests" not in page
