"""A fleet of gateways on one Redis, behind real servers (#15)."""

from __future__ import annotations

import collections
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from strangler.flags.model import Flag
from strangler.flags.store import open_store
from tests.support.fleet import APPS, STRANGLER, fleet, propagation, summary
from tests.support.redis_server import redis_server
from tests.support.servers import free_port, running
from tests.support.waiting import wait_until

pytestmark = pytest.mark.server


def test_three_gateways_of_two_workers_follow_every_change_at_once(tmp_path: Path) -> None:
    """50 changes written to Redis: each reaches all six workers in well under a second (the
    poll alone would take up to 0.2 s: the push makes it less)."""
    with redis_server(tmp_path) as url:
        open_store(url, create=True).version()
        with fleet(tmp_path, url, gateways=3, workers=2) as urls:
            took = propagation(urls, url, changes=50, workers=6)
    print(summary(took))
    assert sorted(took)[-1] < 1.0, summary(took)
    assert sorted(took)[len(took) // 2] < 0.2, summary(took)


def test_redis_away_for_10_s_under_load_fails_no_request(tmp_path: Path) -> None:
    """Redis stopped under steady load: every request is still answered, by the last good
    table; health says degraded; once Redis is back, a change made then is followed."""
    redis_port = free_port()
    config = tmp_path / "strangler.toml"
    served: collections.Counter[str] = collections.Counter()
    failures: list[str] = []
    slowest = [0.0]
    stop = threading.Event()

    def load(gateway: str) -> None:
        with httpx.Client(base_url=gateway, timeout=5) as client:
            deadline = time.monotonic() + 60
            while not stop.is_set() and time.monotonic() < deadline:
                try:
                    started = time.monotonic()
                    answer = client.get("/work")
                    slowest[0] = max(slowest[0], time.monotonic() - started)
                    served[answer.headers.get("x-strangler-backend", "?")] += 1
                    if answer.status_code != 200:
                        failures.append(str(answer.status_code))
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))
                time.sleep(0.005)  # a steady load, not a flood

    with ExitStack() as outer:
        first = ExitStack()
        redis_url = first.enter_context(redis_server(tmp_path, redis_port, persist=True))
        config.write_text(APPS + f'flags = "{redis_url}"\n')
        store = open_store(redis_url, create=True)
        store.set("GET /work", Flag.build("migrated"), actor="ann", reason="ported")
        port = free_port()
        argv = [STRANGLER, "serve", "--config", str(config), "--port", str(port), "--dev"]
        argv += ["--workers", "2", "--no-access-log"]
        gateway = outer.enter_context(
            running(argv, port=port, ready_path="/_strangler/health", timeout=90)
        )
        thread = threading.Thread(target=load, args=(gateway,), daemon=True)
        thread.start()
        wait_until(lambda: served["migrated"] > 50, what="the load on migrated")
        first.close()  # Redis stops
        away_since = time.monotonic()
        statuses = set()
        while time.monotonic() - away_since < 10:
            statuses.add(_health(gateway)["status"])
            time.sleep(0.2)  # health, looked at through the 10 s Redis is away
        during = served["migrated"]
        outer.enter_context(redis_server(tmp_path, redis_port, persist=True))  # back
        wait_until(lambda: _health(gateway)["status"] == "ok", what="health ok again")
        store.set("GET /work", Flag.build("legacy"), actor="ann", reason="Redis is back")
        legacy_before = served["legacy"]
        wait_until(lambda: served["legacy"] > legacy_before + 20, what="the change")
        stop.set()
        thread.join(timeout=10)
    print(
        f"served {dict(served)}, health while away: {sorted(statuses)},"
        f" slowest answer {slowest[0] * 1000:.0f} ms"
    )
    assert failures == []
    assert slowest[0] < 1.0  # the request path never waits for the store
    assert "degraded" in statuses
    assert during > 500  # the load went on, on the last good table (migrated)


def _health(url: str) -> dict[str, object]:
    answer = httpx.get(url + "/_strangler/health", headers={"Connection": "close"}, timeout=5)
    data: dict[str, object] = answer.json()
    return data


def test_a_cold_start_without_redis_serves_everything_on_legacy(tmp_path: Path) -> None:
    """No Redis at all at start: the gateway starts anyway, routes by its defaults (legacy),
    and says degraded; it would take the table once Redis answers."""
    config = tmp_path / "strangler.toml"
    config.write_text(APPS + f'flags = "redis://127.0.0.1:{free_port()}/0"\n')
    port = free_port()
    argv = [STRANGLER, "serve", "--config", str(config), "--port", str(port), "--dev"]
    with running(argv, port=port, ready_path="/_strangler/health", timeout=60) as gateway:
        answer = httpx.get(gateway + "/work")
        assert answer.status_code == 200
        assert answer.headers["x-strangler-backend"] == "legacy"
        health = _health(gateway)
        assert health["status"] == "degraded"
        assert "cannot read the flag store redis://127.0.0.1" in str(health["flags"])
