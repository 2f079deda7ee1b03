"""The progress report on the worked example behind a real server (#16)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from strangler.flags.store import open_store
from strangler.metrics.fleet import FleetReader
from tests.support.servers import REPO, free_port, running
from tests.support.waiting import wait_until

pytestmark = pytest.mark.server

STRANGLER = str(Path(sys.executable).parent / "strangler")


def published(store_path: Path) -> int:
    """The requests the workers have published with their heartbeats, where the report reads."""
    store = open_store(store_path)
    try:
        fleet = FleetReader(store).read()
    finally:
        store.close()
    return sum(
        t.requests for totals in fleet.totals.values() for s in totals.values() for t in s.values()
    )


def test_the_report_after_flipping_two_endpoints_shows_them_and_the_shares(
    tmp_path: Path,
) -> None:
    """After two endpoints are flipped, the report and the status show them on migrated, the
    endpoint and traffic shares, and the quiet days still ahead."""
    config = tmp_path / "strangler.toml"
    config.write_text(
        'legacy = "legacy.app:app"\nmigrated = "migrated.app:app"\nflags = "flags.db"\n'
        f'contracts = "{REPO / "contract_tests"}"\n'
    )
    port = free_port()
    argv = [STRANGLER, "serve", "--config", str(config), "--port", str(port), "--dev"]

    def flip(client: httpx.Client, endpoint: str) -> None:
        body = {"endpoint": endpoint, "mode": "migrated", "reason": "ported"}
        client.post("/_strangler/flags", json=body).raise_for_status()

    with running(argv, port=port, ready_path="/_strangler/health", timeout=120) as url:
        with httpx.Client(base_url=url) as client:
            flip(client, "GET /model-info")
            for _ in range(10):
                assert client.get("/model-info").headers["x-strangler-backend"] == "migrated"
                assert client.get("/health").headers["x-strangler-backend"] == "legacy"
            flip(client, "GET /health")
            for _ in range(10):
                assert client.get("/health").headers["x-strangler-backend"] == "migrated"
        wait_until(  # counts go out with the heartbeat (every 2 s)
            lambda: published(tmp_path / "flags.db") >= 30,
            every=0.1,
            what="the worker publishing its 30 requests",
        )
        markdown = tmp_path / "report.md"
        html = tmp_path / "report.html"
        done = subprocess.run(
            [
                STRANGLER,
                "report",
                "--markdown",
                str(markdown),
                "--html",
                str(html),
                "--config",
                str(config),
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        status = subprocess.run(
            [STRANGLER, "status", "--config", str(config)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
    text = markdown.read_text()
    assert "| GET /model-info | yes | migrated | 100.0% | 10 |" in text
    assert "| GET /health | yes | migrated | 50.0% | 20 |" in text
    assert "| POST /predict | yes | legacy | - | 0 |" in text
    assert "- endpoints on migrated: 33.3% of those legacy serves" in text  # 2 of 6
    # 20 of the 30 requests counted went to migrated (10 /model-info, 10 /health after its flip)
    assert "- traffic on migrated: 66.7% (counted by 1 gateway worker(s))" in text
    assert "GET /health on migrated for 0.0 of 7 days" in text
    assert "66.7%" in html.read_text()
    assert "<table>" in html.read_text()
    assert "GET /health" in status
    assert "traffic on migrated: 66.7%" in status
