"""`strangler serve` as a real process on 127.0.0.1: workers, runtime flag changes, stickiness."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.servers import free_port, running

pytestmark = pytest.mark.server

STRANGLER = str(Path(sys.executable).parent / "strangler")
TOKEN = "server-test-token"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "strangler.toml"
    path.write_text(
        'legacy = "tests.test_apps.pair:legacy"\n'
        'migrated = "tests.test_apps.pair:migrated"\n'
        'flags = "flags.db"\n'
        'sticky = "header:X-Client-Id"\n'
    )
    init = cli(path, "flags", "init")
    assert init.returncode == 0, init.stderr
    return path


def serve(config: Path, *, workers: int = 1) -> Iterator[str]:
    port = free_port()
    argv = [STRANGLER, "serve", "--config", str(config), "--port", str(port)]
    return running(
        [*argv, "--workers", str(workers)],
        port=port,
        ready_path="/_strangler/health",
        env={"STRANGLER_ADMIN_TOKEN": TOKEN},
    )


def cli(config: Path, *args: str, url: str | None = None) -> subprocess.CompletedProcess[str]:
    argv = [STRANGLER, *args, "--config", str(config), *(["--url", url] if url else [])]
    env = {"STRANGLER_ADMIN_TOKEN": TOKEN, "PATH": str(Path(sys.executable).parent)}
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, check=False)


def fresh_get(base_url: str, path: str, **kwargs: object) -> httpx.Response:
    """One request on a new connection, so the kernel may hand it to any worker."""
    with httpx.Client(base_url=base_url, timeout=5) as client:
        return client.get(path, **kwargs)  # type: ignore[arg-type]


def test_cli_change_reaches_both_workers_before_the_cli_returns(config: Path) -> None:
    """Under --workers 2, a flag set through the CLI routes both workers' requests as soon as the
    CLI says both took it."""
    with serve(config, workers=2) as url:
        before = {fresh_get(url, "/hello").json()["pid"] for _ in range(40)}
        assert len(before) == 2, "expected requests to reach both workers"
        result = cli(config, "flags", "set", "GET /hello", "migrated", "-m", "ship it")
        assert result.returncode == 0, result.stderr
        # Both workers report the version they take, so the change says who took it (#11, #22).
        assert "taken by 2 gateway worker(s): they route by it now" in result.stdout
        # No pause: the CLI's word is the promise (a worker reports a version once it routes by
        # it); a guessed second here was both slow and, on a busy machine, no guarantee.
        after = [fresh_get(url, "/hello").json() for _ in range(40)]
        assert {answer["app"] for answer in after} == {"migrated"}
        assert {answer["pid"] for answer in after} == before


def test_remote_cli_changes_a_running_gateway(config: Path) -> None:
    """`strangler flags ... --url` acts through the admin API and refuses bad changes."""
    with serve(config) as url:
        ok = cli(config, "flags", "canary", "GET /hello", "30", "-m", "remote", url=url)
        assert ok.returncode == 0, ok.stderr
        assert "canary 30%" in cli(config, "endpoints", url=url).stdout
        refused = cli(config, "flags", "set", "POST /hello", "migrated", "-m", "x", url=url)
        assert refused.returncode == 2
        assert "no migrated handler" in refused.stderr
        history = cli(config, "flags", "history", url=url)
        assert "by " in history.stdout
        assert "remote" in history.stdout


def test_canary_caller_sees_one_backend_across_two_servers(config: Path) -> None:
    """Two server processes on one store send each caller to the same backend every time."""
    result = cli(config, "flags", "canary", "GET /hello", "25", "-m", "canary")
    assert result.returncode == 0, result.stderr
    with serve(config) as first, serve(config) as second:
        seen: dict[str, set[str]] = {}
        with httpx.Client(timeout=5) as client:
            for caller in range(100):
                headers = {"X-Client-Id": f"caller-{caller}"}
                for base in (first, second, first, second):
                    answer = client.get(base + "/hello", headers=headers).json()
                    seen.setdefault(headers["X-Client-Id"], set()).add(answer["app"])
    assert all(len(apps) == 1 for apps in seen.values())
    on_migrated = sum(apps == {"migrated"} for apps in seen.values())
    assert 10 <= on_migrated <= 40


def test_serve_refuses_development_mode_off_loopback(config: Path) -> None:
    """`--dev` without a token on a non-loopback address exits before serving anything."""
    argv = [STRANGLER, "serve", "--config", str(config), "--dev", "--host", "0.0.0.0"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert "127.0.0.1" in result.stderr


def test_serve_refuses_a_config_without_apps(tmp_path: Path) -> None:
    """`strangler serve` with no apps configured exits at once with what to set."""
    empty = tmp_path / "strangler.toml"
    empty.write_text('flags = "flags.db"\n')
    result = cli(empty, "serve")
    assert result.returncode == 2
    assert "legacy and migrated" in result.stderr
