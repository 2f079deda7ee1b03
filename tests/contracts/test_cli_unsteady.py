"""`strangler contract run` fuzzing apps whose answers depend on state nothing resets between
plays: a difference found once and gone on replay is a failure of the run, never a Hypothesis
traceback (#24)."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

from click.testing import CliRunner

from strangler.cli.main import main
from tests.support.servers import REPO
from tests.test_apps.flaskr import legacy

FLASKR = REPO / "tests" / "test_apps" / "flaskr"


def test_a_fuzz_difference_gone_on_replay_fails_the_run_with_its_request(tmp_path: Path) -> None:
    """flaskr in process with no reset hook: each play deletes what the next finds, and the
    difference fuzzing finds is reported (request, note) and fails the run (exit 1)."""
    corpus = tmp_path / "contracts"
    corpus.mkdir()
    shutil.copy(FLASKR / "contracts" / "delete.yaml", corpus)
    config = tmp_path / "strangler.toml"
    config.write_text(
        f'legacy = "tests.test_apps.flaskr.legacy:app"\n'
        f'migrated = "tests.test_apps.flaskr.completed:app"\n'
        f'flags = "memory:"\ncontracts = "{corpus}"\nfuzz_examples = 20\n',
        encoding="utf-8",
    )
    junit = tmp_path / "junit.xml"
    legacy.reset()  # the same start whatever ran before in this process
    result = CliRunner().invoke(
        main,
        ["contract", "run", "--config", str(config), "--junit", str(junit)],
        catch_exceptions=False,
    )
    out = result.output
    assert result.exit_code == 1, out
    assert "FAIL fuzz POST /{id}/delete: a generated request differed (seed 0," in out, out
    assert "did not differ again when replayed, so it may depend on state" in out
    assert "the request that showed it, as a corpus case" in out
    assert "0 endpoints fuzzed clean" in out
    fuzzed = next(
        c for c in ET.parse(junit).iter("testcase") if c.get("classname") == "contracts.fuzz"
    )
    assert fuzzed.find("failure") is not None
