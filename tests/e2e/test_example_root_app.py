"""`uvicorn app.main:app`: the example's root app serves it as `strangler serve` does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.example.conftest import TEST_SECRET
from tests.support.servers import REPO, free_port, running, uvicorn_argv
from tests.support.waiting import wait_until

pytestmark = pytest.mark.server

STRANGLER = str(Path(sys.executable).parent / "strangler")


def strangler(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Runs the `strangler` command of this checkout in the repository, with `env`."""
    return subprocess.run(
        [STRANGLER, *args],
        cwd=REPO,
        env={**env, "PATH": str(Path(sys.executable).parent)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_uvicorn_serves_the_example_and_follows_a_flag_change(
    tmp_path: Path, model_file: Path
) -> None:
    """The root app answers on both backends, routes by the store, and reroutes on a change."""
    env = {
        "STRANGLER_FLAGS": str(tmp_path / "flags.db"),  # not the repo's var/strangler.db
        "STRANGLER_DEV": "1",
        "ML_MODEL_PATH": str(model_file),
        "ML_API_SECRET_KEY": TEST_SECRET,
    }
    port = free_port()
    argv = uvicorn_argv("app.main:app", port=port)
    with running(argv, port=port, ready_path="/_strangler/health", env=env) as url:
        # No store yet: the root app creates none itself (its workers never create one), so it
        # serves by its defaults and says how to make one.
        health = httpx.get(url + "/_strangler/health").json()
        assert (health["status"], health["endpoints"]) == ("degraded", 10)
        assert "strangler flags init" in health["flags"]["error"]
        assert strangler(env, "flags", "init").returncode == 0
        wait_until(  # at the watcher's next poll (0.2 s), later when both cores are busy
            lambda: httpx.get(url + "/_strangler/health").json()["status"] == "ok",
            every=0.05,
            what="the new store picked up",
        )
        login = httpx.post(url + "/login", json={"username": "admin", "password": "password"})
        token = login.json()["token"]
        predict = httpx.post(
            url + "/predict",
            json={"features": list(range(1, 11))},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert predict.status_code == 200
        assert predict.headers["x-strangler-backend"] == "legacy"

        flip = strangler(env, "flags", "set", "POST /predict", "migrated", "-m", "root app test")
        assert flip.returncode == 0, flip.stderr

        def predicted() -> httpx.Response | None:
            again = httpx.post(
                url + "/predict",
                json={"features": list(range(1, 11))},
                headers={"Authorization": f"Bearer {token}"},
            )
            return again if again.headers["x-strangler-backend"] == "migrated" else None

        again = wait_until(predicted, every=0.05, what="the change reaching the root app")
        assert again.json()["prediction"] == predict.json()["prediction"]
