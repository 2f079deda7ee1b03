"""The worked example's whole corpus through `strangler serve` (#24): `strangler contract run
--url` with the admin token on both, the gateway allowing its contract reset (a test
deployment), so the cache cases start each play from an empty cache; the cases h11 refuses to
send (`Authorization: 'Bearer '`) go out as written, and an app's 500 that closes the
connection does not stop the run."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.servers import REPO, free_port, running

pytestmark = pytest.mark.server

STRANGLER = str(Path(sys.executable).parent / "strangler")
FEW = ["--examples", "10"]  # requests per fuzzed endpoint: the whole run fuzzes 300 (~3 min)


def test_the_whole_corpus_passes_through_a_served_gateway(tmp_path: Path, model_file: Path) -> None:
    """Every case passes live, none skipped, the stateful ones included, and each endpoint's
    fuzzing is clean."""
    config = tmp_path / "strangler.toml"
    config.write_text(
        'legacy = "legacy.app:app"\nmigrated = "migrated.app:app"\nflags = "flags.db"\n'
        f'contracts = "{REPO / "contract_tests"}"\n'
        f'ledger = "{REPO / "contract_tests" / "ledger.yaml"}"\n'
        'contract_reset = "migrated.domain:prediction_cache.clear"\n'
        "contract_reset_live = true\n"
    )
    token = {"STRANGLER_ADMIN_TOKEN": secrets.token_urlsafe(24)}
    port = free_port()
    argv = [STRANGLER, "serve", "--config", str(config), "--port", str(port), "--no-access-log"]
    with running(argv, port=port, ready_path="/_strangler/health", env=token, timeout=90) as url:
        run = subprocess.run(
            [STRANGLER, "contract", "run", "--url", url, "--config", str(config), *FEW],
            cwd=REPO,
            env={**os.environ, **token},
            capture_output=True,
            text=True,
            timeout=240,
        )
    summary = run.stdout.strip().splitlines()
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    cases = sum(1 for line in run.stderr.splitlines() if "case " in line and ": passed" in line)
    assert cases > 150, run.stderr[-2000:]
    assert any(
        ", 0 failed," in line and " 0 skipped," in line and "5 endpoints fuzzed clean" in line
        for line in summary
    ), summary
    assert "stopped early" not in run.stdout
