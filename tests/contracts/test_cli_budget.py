"""`strangler contract run --max-time / --max-endpoint-time`: a run ends on time and says what it
left out, exiting 3 (incomplete), never 0 (#24)."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

# The CLI loads the runner's modules once its first line is out, within the budget; a busy
# machine may take seconds for them. Loaded here, so these tests time the run, not the imports.
import strangler.assembly
import strangler.contracts.formats
import strangler.contracts.sides
import strangler.contracts.suite  # noqa: F401
from strangler.cli.main import main
from tests.support.servers import REPO
from tests.test_apps.stuck_pair import apps

PAIR = REPO / "tests" / "test_apps" / "stuck_pair"
CONFIG = str(PAIR / "strangler.toml")


@pytest.fixture(autouse=True)
def stuck() -> Iterator[None]:
    """/stuck waits until the test is over."""
    apps.release.clear()
    apps.entered.clear()
    try:
        yield
    finally:
        apps.release.set()


def contract_run(*args: str) -> tuple[Result, float]:
    """Runs `strangler contract run --config <the stuck pair> ARGS`; the result and its seconds."""
    started = time.monotonic()
    result = CliRunner().invoke(
        main, ["contract", "run", "--config", CONFIG, *args], catch_exceptions=False
    )
    return result, time.monotonic() - started


def test_max_time_ends_a_stuck_run_and_names_the_cases_it_did_not_run(tmp_path: Path) -> None:
    """A case stuck past --max-time is left, the cases after it are not run: exit 3."""
    junit = tmp_path / "junit.xml"
    result, seconds = contract_run("--no-fuzz", "--max-time", "2", "--junit", str(junit))
    assert apps.entered.is_set()  # the stuck case did start
    assert seconds < 12, result.output  # 2 s, then the report; never the handler's 30 s
    assert result.exit_code == 3, result.output
    out = result.output
    assert "stuck-waits: cut short: the run's time budget (2s) ran out while it ran" in out
    assert "quick-after: not run: the run's time budget (2s) ran out" in out
    assert "INCOMPLETE 1 case cut short (the run's time budget (2s)): stuck-waits" in out
    assert "INCOMPLETE 2 cases not run (the run's time budget (2s)): quick-after, quick-last" in out
    assert "0 failed" in out
    assert "incomplete" in out.splitlines()[-2]
    assert "an ad-hoc run (--no-fuzz, cut by its time budget)" in out.splitlines()[-1]
    suite = ET.parse(junit).getroot()
    assert suite.get("skipped") == "3"
    assert suite.get("failures") == "0"


def test_max_endpoint_time_cuts_one_endpoint_and_fuzzes_the_next(tmp_path: Path) -> None:
    """An endpoint whose fuzzing outlasts --max-endpoint-time is cut short; the next is fuzzed."""
    result, seconds = contract_run(
        "--corpus", str(PAIR / "fuzz_contracts"), "--max-endpoint-time", "3"
    )
    assert seconds < 20, result.output
    assert result.exit_code == 3, result.output
    out = result.output
    assert "CUT SHORT GET /stuck: after 0 of 5 requests:" in out
    assert "FUZZ GET /quick: 5 requests, no undeclared difference" in out
    assert "incomplete" in out


def test_a_run_within_its_budget_exits_0() -> None:
    """A budget the run fits in changes nothing: exit 0, nothing left out."""
    apps.release.set()
    result, _ = contract_run("--max-time", "120", "--max-endpoint-time", "60")
    assert result.exit_code == 0, result.output
    assert "INCOMPLETE" not in result.output


def test_progress_lines_come_as_the_run_goes_when_not_a_terminal() -> None:
    """Outside a terminal, the plan comes first, then one line per case with counts and time."""
    apps.release.set()
    result, _ = contract_run("--no-fuzz")
    lines = result.output.splitlines()
    assert lines[0] == "contracts: opening legacy and migrated (in process, via force)"
    assert lines[1] == "contracts: 4 cases, no fuzzing"
    assert any("case 1/4 quick-first: passed" in line for line in lines), result.output
    assert any("case 4/4 quick-last: passed" in line for line in lines), result.output
