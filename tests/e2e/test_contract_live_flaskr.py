"""flaskr's corpus (tests/test_apps/flaskr) through `strangler serve`, whose gateway refuses its
contract reset (no `contract_reset_live`, as where real users are served) (#26): the cases that
need a fresh database are marked `stateful: true`, so a live run skips them, counted with the
reason, and passes the rest, the first time and again on the state the first run left. With
fuzzing, what one play deletes is gone for the next, so a difference found may not come back on
replay: it fails the run as a difference, with a note, never as a traceback (#24)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.support.servers import REPO, free_port, running

pytestmark = pytest.mark.server

STRANGLER = str(Path(sys.executable).parent / "strangler")
FLASKR = str(REPO / "tests" / "test_apps" / "flaskr" / "strangler.toml")
# The cases whose answers depend on what the database holds, and which a play on one side
# changes for the other: registering ann, writing and deleting posts.
STATEFUL = {
    "register-ok",
    "register-twice",
    "login-then-logout",
    "delete-own-post",
    "delete-missing-post",
    "delete-another-users-post",
}


def contract_run(
    url: str, junit: Path, token: dict[str, str], *options: str
) -> subprocess.CompletedProcess[str]:
    """`strangler contract run --url URL` on flaskr's corpus: with `options`, or --no-fuzz."""
    argv = [STRANGLER, "contract", "run", "--url", url, "--config", FLASKR]
    return subprocess.run(
        [*argv, *(options or ("--no-fuzz",)), "--junit", str(junit)],
        cwd=REPO,
        env={**os.environ, **token},
        capture_output=True,
        text=True,
        timeout=120,
    )


def skipped(junit: Path) -> dict[str, str]:
    """Each skipped case of a JUnit report, with the reason it gives."""
    return {
        case.attrib["name"]: skip.attrib.get("message", "")
        for case in ET.parse(junit).iter("testcase")
        if (skip := case.find("skipped")) is not None
    }


def test_a_live_run_without_reset_skips_the_stateful_cases_and_passes_the_rest(
    tmp_path: Path,
) -> None:
    """Against a gateway that refuses its reset, the stateful cases are skipped with the reason
    and every other case passes, in a first run and in a second on the state it left."""
    token = {"STRANGLER_ADMIN_TOKEN": secrets.token_urlsafe(24)}
    port = free_port()
    argv = [STRANGLER, "serve", "--config", FLASKR, "--port", str(port), "--no-access-log"]
    with running(argv, port=port, ready_path="/_strangler/health", env=token, timeout=90) as url:
        for attempt in ("first", "second"):
            junit = tmp_path / f"{attempt}.xml"
            run = contract_run(url, junit, token)
            assert run.returncode == 0, f"{attempt} run:\n{run.stdout}\n{run.stderr[-3000:]}"
            assert "8 passed, 0 failed, 0 with declared differences, 6 skipped" in run.stdout
            reasons = skipped(junit)
            assert set(reasons) == STATEFUL, reasons
            assert all("needs fresh state" in why for why in reasons.values()), reasons


def test_a_live_run_with_fuzzing_reports_a_difference_gone_on_replay_not_a_traceback(
    tmp_path: Path,
) -> None:
    """Fuzzing through a gateway that refuses its reset, a delete that differs once (legacy's
    play deleted the post the port's play then misses) and not on replay fails the run
    (exit 1) with its request and a note that it may depend on state: no traceback (#24)."""
    token = {"STRANGLER_ADMIN_TOKEN": secrets.token_urlsafe(24)}
    port = free_port()
    argv = [STRANGLER, "serve", "--config", FLASKR, "--port", str(port), "--no-access-log"]
    with running(argv, port=port, ready_path="/_strangler/health", env=token, timeout=90) as url:
        junit = tmp_path / "fuzzed.xml"
        run = contract_run(url, junit, token, "--examples", "20")
    output = f"{run.stdout}\n{run.stderr[-3000:]}"
    assert "Traceback" not in output, output
    assert run.returncode == 1, output
    assert "FAIL fuzz POST /{id}/delete: a generated request differed (seed 0," in run.stdout
    assert "did not differ again when replayed, so it may depend on state" in run.stdout
    assert "8 passed, 1 failed, 0 with declared differences, 6 skipped" in run.stdout
    assert "0 endpoints fuzzed clean" in run.stdout
    fuzzed = [c for c in ET.parse(junit).iter("testcase") if c.get("classname") == "contracts.fuzz"]
    assert [c.get("name") for c in fuzzed if c.find("failure") is not None] == ["POST /{id}/delete"]
