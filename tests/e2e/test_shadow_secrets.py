"""Secrets never leave shadowing (#22): distinct secrets planted in every part of live requests
(headers, cookies, queries, nested and capitalised JSON keys, forms, text) and made or echoed by
the apps are found in no report, no export and no dashboard page; the placeholder is."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from strangler.shadow.policy import REDACTED
from tests.support.servers import free_port, running
from tests.support.waiting import wait_until
from tests.test_apps import secret_pair

pytestmark = pytest.mark.server

STRANGLER = str(Path(sys.executable).parent / "strangler")
ADMIN_TOKEN = "an-admin-token-long-enough-0123456789"
ADMIN = {"X-Strangler-Admin-Token": ADMIN_TOKEN}

# One distinct secret per place a client may put one.
PLANTED = {
    "authorization": "planted-bearer-a8f3e1",
    "x-auth-token": "planted-x-auth-token-b7d2",
    "api-key": "planted-api-key-c6e9",
    "cookie": "planted-cookie-session-d5a4",
    "query pass": "planted-query-pass-e4b8",
    "query sessionid": "planted-query-sessionid-f3c7",
    "json user.password": "planted-nested-password-a2d6",
    "json Password": "planted-capital-password-b1e5",
    "form password": "planted-form-password-c9f4",
    "text password": "planted-text-password-d8a3",
}
MADE = {  # secrets the apps hand out themselves
    "legacy access_token": secret_pair.LEGACY_TOKEN,
    "migrated access_token": secret_pair.MIGRATED_TOKEN,
    "set-cookie sessionid": secret_pair.SESSION_COOKIE,
}
ENDPOINTS = ("GET /profile", "GET /match", "POST /account", "POST /login", "POST /note")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    config = tmp_path / "strangler.toml"
    config.write_text(
        'legacy = "tests.test_apps.secret_pair:legacy"\n'
        'migrated = "tests.test_apps.secret_pair:migrated"\n'
        'flags = "flags.db"\n'
        "shadow_max_cpu = 100.0\n"  # shadow every request, however busy the machine
    )
    port = free_port()
    argv = [STRANGLER, "serve", "--config", str(config), "--port", str(port), "--no-access-log"]
    env = {"STRANGLER_ADMIN_TOKEN": ADMIN_TOKEN}
    with running(argv, port=port, ready_path="/_strangler/health", env=env, timeout=60) as url:
        yield url, config


def send_secrets_everywhere(client: httpx.Client) -> None:
    p = PLANTED
    headers = {
        "Authorization": f"Bearer {p['authorization']}",
        "X-Auth-Token": p["x-auth-token"],
        "Api-Key": p["api-key"],
        "Cookie": f"theme=dark; sessionid={p['cookie']}",
    }
    query = {"page": "2", "pass": p["query pass"], "sessionid": p["query sessionid"]}
    for path in ("/profile", "/match"):
        assert client.get(path, params=query, headers=headers).status_code == 200
    account = {"user": {"name": "ann", "password": p["json user.password"]}}
    account["Password"] = p["json Password"]  # type: ignore[assignment]
    assert client.post("/account", json=account, headers=headers).status_code == 200
    form = {"user": "ann", "password": p["form password"]}
    assert client.post("/login", data=form, headers=headers).status_code == 200
    note = f"remember: password={p['text password']} for ann"
    text = {**headers, "Content-Type": "text/plain"}
    assert client.post("/note", content=note, headers=text).status_code == 200


def leaked(text: str) -> list[str]:
    """The secrets found in `text`, by name."""
    return [name for name, value in {**PLANTED, **MADE}.items() if value in text]


def strangler(*args: str) -> subprocess.CompletedProcess[str]:
    env = {"STRANGLER_ADMIN_TOKEN": ADMIN_TOKEN, "PATH": str(Path(sys.executable).parent)}
    return subprocess.run(
        [STRANGLER, *args], capture_output=True, text=True, timeout=60, env=env, check=False
    )


def test_no_planted_secret_appears_in_any_report_export_or_page(
    served: tuple[str, Path], tmp_path: Path
) -> None:
    """Every report (admin API, `shadow report --full`), every export (through the gateway and
    from the store, with the recorded samples) and every dashboard page showing shadow data
    holds none of the planted or app-made secrets, and does hold the placeholder."""
    url, config = served
    with httpx.Client(base_url=url, timeout=30) as client:
        for endpoint in ENDPOINTS:
            free = None if endpoint.startswith("GET") else "echoes what it is sent"
            body = {"endpoint": endpoint, "percentage": 100, "reason": "watch for leaks"}
            answer = client.post(
                "/_strangler/shadow", json={**body, "side_effect_free": free}, headers=ADMIN
            )
            assert answer.status_code == 200, answer.text
        wait_until(
            lambda: all(
                client.get("/_strangler/flags", headers=ADMIN).json()["flags"][e]["shadow"]
                for e in ENDPOINTS
            ),
            what="the shadow flags",
        )
        send_secrets_everywhere(client)

        def report() -> str | None:
            answer = client.get("/_strangler/shadow", headers=ADMIN)
            found = {e["endpoint"]: e for e in answer.json()["endpoints"]}
            done = [found.get(e, {}).get("compared", 0) for e in ENDPOINTS]
            return answer.text if done == [1] * len(ENDPOINTS) else None

        shown = {"admin API /shadow": wait_until(report, what="5 comparisons")}
        entries = {
            e["endpoint"]: e
            for e in httpx.Response(200, text=shown["admin API /shadow"]).json()["endpoints"]
        }
        assert entries["GET /match"]["matched"] == 1
        assert all(entries[e]["mismatched"] == 1 for e in ENDPOINTS if e != "GET /match")
        shown["admin API /shadow/export"] = client.get(
            "/_strangler/shadow/export", params={"recorded": "true"}, headers=ADMIN
        ).text

        pages = ["/", "/table", "/mismatches", "/history"]
        pages += [f"/mismatches?endpoint={e}" for e in ENDPOINTS]
        login = client.post(
            "/_strangler/ui/login", data={"token": ADMIN_TOKEN}, headers={"Origin": url}
        )
        assert login.status_code == 303, login.text
        for page in pages:
            answer = client.get("/_strangler/ui" + page)
            assert answer.status_code == 200, (page, answer.text[:200])
            shown[f"dashboard {page}"] = answer.text

    result = strangler("shadow", "report", "--full", "--url", url)
    assert result.returncode == 0, result.stderr
    shown["shadow report --full --url"] = result.stdout
    through = tmp_path / "through-gateway"
    result = strangler("shadow", "export", str(through), "--recorded", "--url", url)
    assert result.returncode == 0, result.stderr
    for path in sorted(through.iterdir()):
        shown[f"export --url {path.name}"] = path.read_text()
    store = tmp_path / "from-store"  # what the worker published in the flag store

    def exported() -> bool:
        result = strangler("shadow", "export", str(store), "--recorded", "--config", str(config))
        return result.returncode == 0 and len(list(store.glob("*.yaml"))) == 5

    wait_until(exported, every=0.5, what="the published report's 5 corpus files")
    for path in sorted(store.iterdir()):
        shown[f"export from the store {path.name}"] = path.read_text()

    assert len([name for name in shown if name.startswith("export --url")]) == 5
    leaks = {where: found for where, text in shown.items() if (found := leaked(text))}
    assert leaks == {}
    for where in ("admin API /shadow", "dashboard /mismatches", "shadow report --full --url"):
        assert REDACTED in shown[where], where
    assert all(REDACTED in text for where, text in shown.items() if where.startswith("export"))
    # What is not secret is still shown: the report stays useful.
    assert "page=2" in shown["admin API /shadow"]
    assert '"name":"ann"' in shown["admin API /shadow"]
