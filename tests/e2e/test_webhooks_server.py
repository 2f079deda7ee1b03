"""Webhooks behind a real `strangler serve --workers 2` (#25): a receiver on 127.0.0.1 that is
slow gets every flag change and rollout event once, in order, whichever worker holds the lease,
and a gated rollout waits for `strangler rollout approve --url`."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.servers import free_port, running
from tests.support.waiting import wait_until
from tests.support.webhooks import receiving

pytestmark = pytest.mark.server

STRANGLER = str(Path(sys.executable).parent / "strangler")
TOKEN = "webhook-test-token"
ADMIN = {"X-Strangler-Admin-Token": TOKEN}
ENDPOINT = "GET /work"


def test_a_slow_receiver_gets_every_event_once_in_order_from_two_workers(tmp_path: Path) -> None:
    """Two workers, one webhook answering in 0.2 s: each change is posted once, in order."""
    with receiving() as receiver:
        receiver.delay = 0.2
        config = tmp_path / "strangler.toml"
        config.write_text(
            'legacy = "tests.test_apps.rollout_pair:legacy"\n'
            'migrated = "tests.test_apps.rollout_pair:migrated"\n'
            'flags = "flags.db"\n'
            f'webhooks = ["http://127.0.0.1:{receiver.port}/hook"]\n'
        )
        port = free_port()
        argv = [STRANGLER, "serve", "--config", str(config), "--port", str(port)]
        argv += ["--workers", "2", "--no-access-log"]
        env = {"STRANGLER_ADMIN_TOKEN": TOKEN}
        with running(argv, port=port, ready_path="/work", env=env, timeout=60) as url:
            # Both workers' clerks have looked once: the lease is held, the cursor placed.
            wait_until(lambda: _cursor_kept(tmp_path), what="the events cursor")
            with httpx.Client(base_url=url + "/_strangler", headers=ADMIN, timeout=10) as api:
                for i, mode in enumerate(["migrated", "legacy", "migrated", "legacy"]):
                    change = {"endpoint": ENDPOINT, "mode": mode, "reason": f"change {i}"}
                    assert api.post("/flags", json=change).status_code == 200
                start = {"endpoint": ENDPOINT, "steps": "10,50,100", "interval": 60}
                started = api.post("/rollouts", json={**start, "approve_at": [50], "reason": "go"})
                assert started.status_code == 200, started.text
            cli = subprocess.run(
                [STRANGLER, "rollout", "promote", ENDPOINT, "-m", "by hand", "--url", url],
                capture_output=True,
                text=True,
                timeout=60,
                env={"STRANGLER_ADMIN_TOKEN": TOKEN, "PATH": "/usr/bin:/bin"},
            )
            assert cli.returncode == 0, cli.stdout + cli.stderr
            assert "rollout running at 50%" in cli.stdout
            wait_until(lambda: len(receiver.ids) >= 6, within=90, what="six events posted")
    kinds = [body["kind"] for body in receiver.bodies]
    assert kinds == ["flag_changed"] * 4 + ["started", "promoted"]
    assert len(set(receiver.ids)) == len(receiver.ids)
    assert [b["detail"]["reason"] for b in receiver.bodies[:4]] == [f"change {i}" for i in range(4)]


def _cursor_kept(folder: Path) -> bool:
    path = folder / "flags.db"
    if not path.exists():
        return False
    with contextlib.closing(sqlite3.connect(path)) as conn:
        found = conn.execute("SELECT 1 FROM reports WHERE kind = 'events-cursor'").fetchone()
    return found is not None
