"""Every answer header compared, behind a real server (#24): `strangler serve` on the CORS
pair, where uvicorn adds Date and Server and the gateway its request id to every answer. The
contract run through the live gateway (--url) and shadowing both tell the ports that slip on
headers from the right one, with the default settings."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.servers import REPO, free_port, running

pytestmark = pytest.mark.server

STRANGLER = str(Path(sys.executable).parent / "strangler")
PAIR = REPO / "tests" / "test_apps" / "cors_pair"
LIST = "GET /articles"
FRONT_END = {"Origin": "https://app.example"}


@pytest.fixture
def served(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[str, Path]]:
    """The pair behind `strangler serve`, with the port the test names as migrated."""
    config = tmp_path / "strangler.toml"
    config.write_text(
        'legacy = "tests.test_apps.cors_pair.news_legacy:app"\n'
        f'migrated = "tests.test_apps.cors_pair.news_migrated:{request.param}"\n'
        'flags = "flags.db"\n'
        f'contracts = "{PAIR / "contracts"}"\n'
        "shadow_max_cpu = 100.0\n"  # a busy test machine: shadow regardless
    )
    port = free_port()
    argv = [STRANGLER, "serve", "--config", str(config), "--port", str(port), "--dev"]
    with running(argv, port=port, ready_path="/articles", timeout=60) as url:
        yield url, config


def shadow_report(url: str, requests: int) -> dict[str, Any]:
    """Shadows every GET /articles, sends `requests` from the front end, and returns the
    endpoint's report once they were all compared (at most 90 s: a busy machine is slow)."""
    answer = httpx.post(
        url + "/_strangler/shadow",
        json={"endpoint": LIST, "percentage": 100, "reason": "watch the port's headers"},
    )
    assert answer.status_code == 200, answer.text
    with httpx.Client(base_url=url, headers=FRONT_END, timeout=30) as client:
        answers = [client.get("/articles") for _ in range(requests)]
    # What the clients got: legacy's answer, CORS included, with the server's own headers.
    assert {a.headers["access-control-allow-origin"] for a in answers} == {FRONT_END["Origin"]}
    assert all("date" in a.headers and "x-request-id" in a.headers for a in answers)
    deadline = time.monotonic() + 90
    while True:
        report = httpx.get(url + "/_strangler/shadow").json()
        entry = next((e for e in report["endpoints"] if e["endpoint"] == LIST), {})
        if entry.get("compared", 0) >= requests:
            return entry
        assert time.monotonic() < deadline, report
        time.sleep(0.1)


def live_contract_run(url: str, config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [STRANGLER, "contract", "run", "--url", url, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("served", ["app"], indirect=True)
def test_the_right_port_passes_live_with_every_header_compared(served: tuple[str, Path]) -> None:
    """Date, Server, Content-Length and the request ids differ between the two sides of a live
    run; none is a difference, in the contract run or in shadowing."""
    url, config = served
    entry = shadow_report(url, 10)
    assert (entry["compared"], entry["mismatched"]) == (10, 0), entry
    run = live_contract_run(url, config)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "5 passed, 0 failed" in run.stdout


@pytest.mark.parametrize(
    ("served", "where"),
    [
        ("forgets_cors", {"header:access-control-allow-origin", "header:vary"}),
        ("adds_cache", {"header:cache-control"}),
    ],
    indirect=["served"],
)
def test_a_port_that_slips_on_headers_fails_live_and_is_flagged(
    served: tuple[str, Path], where: set[str]
) -> None:
    """The contract run through the live gateway fails naming the headers; shadowing flags
    every front-end request at them, while the clients keep legacy's answers."""
    url, config = served
    entry = shadow_report(url, 10)
    assert (entry["compared"], entry["mismatched"]) == (10, 10), entry
    assert where <= set(entry["mismatched_where"])
    assert not {"header:date", "header:server", "header:x-request-id"} & set(
        entry["mismatched_where"]
    )
    run = live_contract_run(url, config)
    assert run.returncode == 1, run.stdout + run.stderr
    assert all(name in run.stdout for name in where), run.stdout
    assert "header:date" not in run.stdout
    assert "header:x-request-id" not in run.stdout
