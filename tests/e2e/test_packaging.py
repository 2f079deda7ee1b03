"""strangler as a user installs it: a wheel built from this checkout, in a fresh virtualenv, used
by a project whose own packages are `app`, `legacy` and `migrated` (tests/test_apps/user_project).

The wheel's dependencies come from var/wheelhouse, which scripts/setup fills: no network here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.servers import REPO, free_port, running
from tests.support.waiting import wait_until

pytestmark = pytest.mark.server

WHEELHOUSE = REPO / "var" / "wheelhouse"
USER_PROJECT = REPO / "tests" / "test_apps" / "user_project"
# What pyproject.toml declares (tests/test_packaging.py checks it against what the modules use).
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
TOKEN = "packaging-test-admin-token"


@dataclass(frozen=True)
class Installed:
    wheel: Path
    bin: Path  # the virtualenv's bin folder
    project: Path  # a copy of the user project


def run(argv: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Runs a command with no trace of this repository on its paths."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "STRANGLER_"))}
    return subprocess.run(
        argv, cwd=cwd, env={**clean, **env}, capture_output=True, text=True, timeout=300
    )


def virtualenv(folder: Path, *requirements: str) -> Path:
    """A new virtualenv holding `requirements`, installed from the wheelhouse; its bin folder."""
    made = run([sys.executable, "-m", "venv", "--without-pip", str(folder)], cwd=folder.parent)
    assert made.returncode == 0, made.stderr
    pip = [sys.executable, "-m", "pip", "--python", str(folder / "bin" / "python"), "install"]
    options = ["--quiet", "--no-index", "--find-links", str(WHEELHOUSE)]
    install = run([*pip, *options, *requirements], cwd=folder.parent)
    assert install.returncode == 0, install.stderr
    return folder / "bin"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """Builds the wheel from a copy of the checkout and installs it with its contracts extra,
    and nothing else (pytest comes with the extra), into a new virtualenv."""
    if not WHEELHOUSE.is_dir():
        pytest.fail(f"{WHEELHOUSE} is missing: run scripts/setup, which downloads it")
    root = tmp_path_factory.mktemp("packaging")
    source = root / "source"
    shutil.copytree(
        REPO / "strangler", source / "strangler", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    built = run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--wheel-dir",
            str(root / "dist"),
            str(source),
        ],
        cwd=root,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (root / "dist").glob("strangler-*.whl")

    venv = virtualenv(root / "venv", f"strangler[contracts] @ {wheel.as_uri()}")
    project = root / "project"
    shutil.copytree(USER_PROJECT, project, ignore=shutil.ignore_patterns("__pycache__", "var"))
    return Installed(wheel, venv, project)


def test_the_wheel_holds_strangler_alone_with_the_gateways_dependencies(
    installed: Installed,
) -> None:
    """The wheel's only top-level package is `strangler`; it requires what pyproject.toml
    declares: the dashboard's form parser in the base, pytest and the capped Hypothesis with
    the contracts extra (issue #22)."""
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = wheel.namelist()
        metadata = wheel.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        entry_points = wheel.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert {name.split("/")[0] for name in names} == {"strangler", wheel_dist_info(names)}
    assert "strangler/py.typed" in names
    requires = [
        line.split(":", 1)[1].strip()
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:")
    ]
    required = {_name(r) for r in requires if "extra ==" not in r}
    assert required == {_name(r) for r in PROJECT["dependencies"]}
    assert "python-multipart" in required
    contracts = {_name(r): r for r in requires if 'extra == "contracts"' in r}
    assert set(contracts) == {_name(r) for r in PROJECT["optional-dependencies"]["contracts"]}
    assert {"hypothesis", "hypothesis-jsonschema", "pytest"} <= set(contracts)
    assert "<6.170.10" in contracts["hypothesis"]
    assert "[pytest11]\nstrangler = strangler.pytest_plugin" in entry_points


def wheel_dist_info(names: list[str]) -> str:
    return next(n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info"))


def _name(requirement: str) -> str:
    for stop in "<>=!~[ ;":
        requirement = requirement.split(stop)[0]
    return requirement.lower().replace("_", "-")


def test_the_users_own_app_legacy_and_migrated_packages_are_theirs(installed: Installed) -> None:
    """In the user's project, `strangler` is the installed one and `app` is the user's."""
    probe = (
        "import app.main, legacy.wsgi, migrated.notes, strangler;"
        " print(strangler.__file__); print(app.main.__file__)"
    )
    done = run([str(installed.bin / "python"), "-c", probe], cwd=installed.project)
    assert done.returncode == 0, done.stderr
    strangler_file, app_file = done.stdout.split()
    assert strangler_file.startswith(str(installed.bin.parent))
    assert app_file.startswith(str(installed.project))


def test_strangler_endpoints_lists_the_users_endpoints(installed: Installed) -> None:
    """`strangler flags init` reads the user's strangler.toml, imports `app.main:app` and
    records the endpoints in the new store; `strangler endpoints` lists them from there."""
    init = run([str(installed.bin / "strangler"), "flags", "init"], cwd=installed.project)
    assert init.returncode == 0, init.stderr
    done = run([str(installed.bin / "strangler"), "endpoints"], cwd=installed.project)
    assert done.returncode == 0, done.stderr
    rows = {line.split()[1]: line.split()[2] for line in done.stdout.splitlines()[1:-1]}
    assert rows["/notes/{note_id}"] == "both"
    assert rows["/notes"] == "both"


def test_strangler_contract_run_runs_the_users_corpus(installed: Installed) -> None:
    """`strangler contract run` plays the user's cases on both apps and finds them alike."""
    done = run([str(installed.bin / "strangler"), "contract", "run"], cwd=installed.project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed, 0 failed" in done.stdout


def test_pytest_collects_the_users_corpus_through_the_entry_point(installed: Installed) -> None:
    """Installed with its contracts extra alone, strangler brings pytest and registers its
    plugin: plain `pytest` runs the corpus, with no conftest."""
    done = run(
        [str(installed.bin / "pytest"), "-q", "-p", "no:cacheprovider"], cwd=installed.project
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout


def test_strangler_serve_routes_the_users_apps_by_flag(installed: Installed) -> None:
    """The installed gateway serves the user's apps; a CLI flag change reroutes its requests."""
    port = free_port()
    argv = [str(installed.bin / "strangler"), "serve", "--port", str(port)]
    with running(
        argv,
        port=port,
        ready_path="/_strangler/health",
        env={"STRANGLER_DEV": "1"},
        cwd=installed.project,
    ) as url:
        first = httpx.get(url + "/notes/1")
        assert (first.status_code, first.json()) == (200, {"id": 1, "text": "buy milk"})
        assert first.headers["x-strangler-backend"] == "legacy"
        flip = run(
            [
                str(installed.bin / "strangler"),
                "flags",
                "set",
                "GET /notes/<int:note_id>",
                "migrated",
                "-m",
                "ported",
            ],
            cwd=installed.project,
        )
        assert flip.returncode == 0, flip.stderr
        wait_until(  # at the watcher's next poll (0.2 s), later when both cores are busy
            lambda: httpx.get(url + "/notes/1").headers["x-strangler-backend"] == "migrated",
            every=0.05,
            what="the change reaching the server",
        )


def test_the_installed_dashboard_logs_an_operator_in_with_its_form(installed: Installed) -> None:
    """The installed gateway's dashboard takes the admin token from its login form and shows
    the overview (without python-multipart, the form post was a 500)."""
    port = free_port()
    argv = [str(installed.bin / "strangler"), "serve", "--port", str(port)]
    env = {"STRANGLER_ADMIN_TOKEN": TOKEN}
    with (
        running(
            argv, port=port, ready_path="/_strangler/health", env=env, cwd=installed.project
        ) as url,
        httpx.Client(base_url=url + "/_strangler/ui") as client,
    ):
        login = client.post("/login", data={"token": TOKEN})
        assert login.status_code == 303, login.text
        overview = client.get("/")
        assert overview.status_code == 200
        assert "/notes/" in overview.text  # the user's endpoints, in the overview's table


def test_without_the_contracts_extra_the_gateway_works_and_contracts_say_what_to_install(
    installed: Installed, tmp_path: Path
) -> None:
    """`pip install strangler` alone: no Hypothesis; `strangler contract run` names the extra,
    and the pytest plugin leaves a project without a corpus alone."""
    venv = virtualenv(tmp_path / "venv", str(installed.wheel), "pytest")
    python = str(venv / "python")
    probe = run(
        [python, "-c", "import strangler, importlib.util as u; print(u.find_spec('hypothesis'))"],
        cwd=tmp_path,
    )
    assert probe.stdout.strip() == "None", probe.stderr
    contract = run([str(venv / "strangler"), "contract", "run"], cwd=installed.project)
    assert contract.returncode == 1
    assert "pip install 'strangler[contracts]'" in contract.stderr
    usage = run([str(venv / "strangler"), "--help"], cwd=installed.project)
    assert usage.returncode == 0, usage.stderr
    assert "contract   (needs strangler[contracts])" in usage.stdout
    init = run([str(venv / "strangler"), "flags", "init"], cwd=installed.project)
    assert init.returncode == 0, init.stderr  # the store, if the test above has not made it
    endpoints = run([str(venv / "strangler"), "endpoints"], cwd=installed.project)
    assert endpoints.returncode == 0, endpoints.stderr
    other = tmp_path / "other"
    other.mkdir()
    (other / "settings.yaml").write_text("a: 1\n")
    (other / "test_it.py").write_text("def test_it():\n    assert True\n")
    done = run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=other)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
    # A project with a corpus: its corpus fails saying what to install; its own tests still run.
    (installed.project / "test_own.py").write_text("def test_own():\n    assert True\n")
    try:
        done = run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=installed.project)
    finally:
        (installed.project / "test_own.py").unlink()
    assert done.returncode == 1
    assert "1 failed, 1 passed" in done.stdout
    assert "pip install 'strangler[contracts]'" in done.stdout
