"""`strangler serve --workers 2` whose workers are killed: the metrics keep only live workers'
gauges and every worker's requests (#22)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.servers import free_port, running
from tests.support.waiting import wait_until

pytestmark = pytest.mark.server

STRANGLER = str(Path(sys.executable).parent / "strangler")
TOKEN = "metrics-workers-test-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
KILLS = 6


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "strangler.toml"
    path.write_text(
        'legacy = "tests.test_apps.pair:legacy"\n'
        'migrated = "tests.test_apps.pair:migrated"\n'
        'flags = "flags.db"\n'
    )
    env = {"STRANGLER_ADMIN_TOKEN": TOKEN, "PATH": str(Path(sys.executable).parent)}
    init = subprocess.run(
        [STRANGLER, "flags", "init", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert init.returncode == 0, init.stderr
    return path


def scrape(url: str) -> str:
    with httpx.Client(timeout=5) as client:
        answer = client.get(
            url + "/_strangler/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
        )
    answer.raise_for_status()
    return answer.text


def gauge_pids(text: str, name: str) -> set[int]:
    return {int(pid) for pid in re.findall(rf'^{name}\{{pid="(\d+)"\}}', text, re.MULTILINE)}


def hello_requests(text: str) -> float:
    pattern = r'^strangler_requests_total\{[^}]*endpoint="GET /hello"[^}]*\} (\S+)$'
    return sum(float(value) for value in re.findall(pattern, text, re.MULTILINE))


def serve_pid(port: int) -> int:
    """The `strangler serve` process of `port` (uvicorn's supervisor)."""
    wanted = f"\0--port\0{port}\0".encode()
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and wanted in (proc / "cmdline").read_bytes() + b"\0":
                return int(proc.name)
        except OSError:
            continue
    raise AssertionError(f"no serve process for port {port}")


def workers(parent: int) -> set[int]:
    """The supervisor's live workers (a killed one not yet reaped is a zombie: not counted)."""
    alive = set()
    for kid in Path(f"/proc/{parent}/task/{parent}/children").read_text().split():
        try:
            state = Path(f"/proc/{kid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            command = Path(f"/proc/{kid}/cmdline").read_bytes()
        except OSError:
            continue
        if state != "Z" and b"resource_tracker" not in command:
            alive.add(int(kid))
    return alive


def kill(parent: int, victim: int) -> None:
    """`kill -9` of one worker; returns once its supervisor has seen it die."""
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: victim not in workers(parent), what=f"worker {victim} gone")


def test_killed_workers_leave_the_gauges_and_keep_their_requests(config: Path) -> None:
    """After six `kill -9`s of workers, the per-worker gauges list only the live workers, and
    the requests the killed ones answered still count (#22)."""
    port = free_port()
    argv = [STRANGLER, "serve", "--config", str(config), "--port", str(port), "--workers", "2"]
    env = {"STRANGLER_ADMIN_TOKEN": TOKEN}
    with running(argv, port=port, ready_path="/_strangler/health", env=env, timeout=60) as url:
        parent = serve_pid(port)
        answered = 0
        for _ in range(KILLS):
            wait_until(lambda: len(workers(parent)) == 2, within=60, what="two workers")
            with httpx.Client(base_url=url, timeout=5) as client:  # one connection: one worker
                pids = {client.get("/hello").json()["pid"] for _ in range(10)}
            answered += 10
            # Both workers have set their gauges (each does within a second of its start).
            wait_until(
                lambda: gauge_pids(scrape(url), "strangler_flag_store_up") >= workers(parent),
                what="both workers' gauges",
            )
            kill(parent, pids.pop())
        wait_until(lambda: len(workers(parent)) == 2, within=60, what="two workers")
        live = workers(parent)
        wait_until(
            lambda: gauge_pids(scrape(url), "strangler_flag_store_up") >= live,
            what="the live workers' gauges",
        )
        text = scrape(url)
    assert gauge_pids(text, "strangler_flag_store_up") == live
    assert gauge_pids(text, "strangler_flag_table_version") == live
    assert hello_requests(text) == answered
