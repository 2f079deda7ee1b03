"""A corpus collected by pytest (strangler.contracts.pytest_items, through the plugin)."""

from __future__ import annotations

import subprocess
import sys

from tests.support.servers import REPO


def test_pytest_says_once_that_the_corpus_has_no_reset_hook() -> None:
    """Collected by the plugin, the pair's corpus passes and the summary names the missing hook."""
    folder = REPO / "tests" / "test_apps" / "accounts"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout
    assert done.stdout.count("no reset hook (contract_reset)") == 1
