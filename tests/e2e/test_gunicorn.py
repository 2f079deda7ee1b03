"""The gateway under gunicorn (#27): `gunicorn -k strangler.serving.gunicorn.Worker` passes the
limits tests `strangler serve` passes (tests/e2e/test_limits.py, run here against gunicorn), and
a server that does not enforce the limits is named in the log at the first request."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_limits import (
    test_a_chunked_body_past_the_limit_is_413,
    test_a_declared_body_past_the_limit_is_413_before_it_is_sent,
    test_a_header_block_past_the_limit_in_one_read_is_431,
    test_a_header_block_past_the_limit_is_431,
    test_a_request_whose_client_left_while_queued_is_never_run,
    test_a_stalled_body_is_cut_off,
    test_an_endpoint_can_have_a_smaller_body_limit,
    test_fresh_clients_get_in_while_slow_sockets_fill_the_server,
    test_headers_sent_too_slowly_are_408_and_closed,
    test_overload_is_shed_with_503_and_health_still_answers,
    test_too_many_header_fields_is_431,
)
from tests.support.servers import REPO, free_port, running
from tests.support.waiting import wait_until

pytestmark = pytest.mark.server

BIN = Path(sys.executable).parent
# The limits of tests/e2e/test_limits.py's server, as the settings gunicorn's app reads.
SETTINGS = (
    'legacy = "tests.test_apps.slow_pair:legacy"\n'
    'migrated = "tests.test_apps.slow_pair:migrated"\n'
    'flags = "memory:"\n'
    "max_header_bytes = 8192\nmax_headers = 20\nheader_timeout = 1.0\nbody_timeout = 1.0\n"
    "max_connections = 30\nmax_body = 4096\nlegacy_threads = 1\nlegacy_queue = 1\n"
    'body_limits = {"POST /upload" = 100}\n'
)
APP = "tests.test_apps.gunicorn_gateway:app"
ENV = {"STRANGLER_DEV": "1", "PYTHONPATH": str(REPO)}

__all__ = [  # the limits tests, collected here with this module's `server`
    "test_a_chunked_body_past_the_limit_is_413",
    "test_a_declared_body_past_the_limit_is_413_before_it_is_sent",
    "test_a_header_block_past_the_limit_in_one_read_is_431",
    "test_a_header_block_past_the_limit_is_431",
    "test_a_request_whose_client_left_while_queued_is_never_run",
    "test_a_stalled_body_is_cut_off",
    "test_an_endpoint_can_have_a_smaller_body_limit",
    "test_fresh_clients_get_in_while_slow_sockets_fill_the_server",
    "test_headers_sent_too_slowly_are_408_and_closed",
    "test_overload_is_shed_with_503_and_health_still_answers",
    "test_too_many_header_fields_is_431",
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """The slow pair under gunicorn with the gateway's worker, with test_limits's settings."""
    (tmp_path / "strangler.toml").write_text(SETTINGS)
    port = free_port()
    argv = [
        str(BIN / "gunicorn"),
        "-k",
        "strangler.serving.gunicorn.Worker",
        "-w",
        "1",
        "-b",
        f"127.0.0.1:{port}",
        APP,
    ]
    with running(argv, port=port, ready_path="/_strangler/health", env=ENV, cwd=tmp_path) as url:
        yield url, port


@pytest.mark.parametrize(
    ("argv", "warned"),
    [
        (["uvicorn", "--http", "h11"], True),
        (["uvicorn", "--http", "httptools"], True),
        (["uvicorn", "--http", "strangler.serving.protocol:GuardedProtocol"], False),
        (["gunicorn", "-k", "uvicorn_worker.UvicornWorker"], True),
        (["gunicorn", "-k", "strangler.serving.gunicorn.Worker"], False),
    ],
    ids=["uvicorn-h11", "uvicorn-httptools", "uvicorn-guarded", "gunicorn-uvicorn", "gunicorn"],
)
def test_a_server_without_the_limits_is_named_at_the_first_request(
    tmp_path: Path, argv: list[str], warned: bool
) -> None:
    """The first request's log says the limits do not apply, under a server that lacks them
    only."""
    (tmp_path / "strangler.toml").write_text(SETTINGS)
    port = free_port()
    bind = ["--port", str(port)] if argv[0] == "uvicorn" else ["-b", f"127.0.0.1:{port}"]
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(BIN / argv[0]), *argv[1:], *bind, APP],
            cwd=tmp_path,
            env={**os.environ, **ENV},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until(
            lambda: _answers(f"http://127.0.0.1:{port}/work?seconds=0"),
            within=30,
            what="the server to answer",
        )
        if warned:
            wait_until(lambda: "connection limits" in log.read_text(), within=5, what="the warning")
        else:  # the first request's observers have run once a second one is answered
            assert _answers(f"http://127.0.0.1:{port}/work?seconds=0")
            assert "connection limits" not in log.read_text()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _answers(url: str) -> bool:
    try:
        return httpx.post(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False
