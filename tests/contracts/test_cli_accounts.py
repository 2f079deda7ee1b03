"""`strangler contract run` on the accounts pair (tests/test_apps/accounts): sessions that must
cross backends, a port that raises, and a stateless pair with no reset hook, each caught with a
readable report."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from click.testing import CliRunner, Result

from strangler.cli.main import main
from tests.support.servers import REPO

CONFIG = str(REPO / "tests" / "test_apps" / "accounts" / "strangler.toml")


def contract_run(*args: str) -> Result:
    return CliRunner().invoke(
        main, ["contract", "run", "--config", CONFIG, *args], catch_exceptions=False
    )


def words(text: str) -> str:
    """`text` with every run of white space made one space (tables pad their columns)."""
    return " ".join(text.split())


def test_the_faithful_port_passes_with_no_reset_hook_and_says_so() -> None:
    """No contract_reset: the run says so once, compares every case and fuzzes, and passes."""
    result = contract_run()
    assert result.exit_code == 0, result.output
    assert result.output.count("NOTE no reset hook (contract_reset)") == 1
    assert "FUZZ GET /square: 40 requests, no undeclared difference" in result.output
    compared = int(result.output.split(" requests compared")[0].rsplit(" ", 1)[1])
    assert compared > 40


def test_a_port_with_its_own_sessions_fails_only_across_backends() -> None:
    """Each backend alone logs in fine; a login on one and a visit to the other is caught."""
    result = contract_run(
        "--migrated", "tests.test_apps.accounts.accounts_own_sessions:app", "--no-fuzz"
    )
    assert result.exit_code == 1
    failed = [line for line in result.output.splitlines() if line.startswith("FAIL ")]
    assert failed == [
        "FAIL session.yaml::login-then-me-then-logout: legacy and migrated differ",
        "FAIL session.yaml::login-redirect-followed-on-either-backend: legacy and migrated differ",
    ]
    table = words(result.output)
    assert "[legacy→migrated→migrated→migrated] step 2 (me): status 200 401" in table
    assert "[migrated→legacy→legacy→legacy] step 2 (me): status 200 401" in table


def test_a_port_that_raises_is_a_named_500_and_the_run_goes_on(tmp_path: Path) -> None:
    """The exception becomes the 500 a server answers, named in every report; nothing aborts."""
    junit, markdown = tmp_path / "junit.xml", tmp_path / "summary.md"
    result = contract_run(
        "--migrated",
        "tests.test_apps.accounts.accounts_raising:app",
        "--no-fuzz",
        "--junit",
        str(junit),
        "--markdown",
        str(markdown),
    )
    assert result.exit_code == 1
    named = "on migrated raised ValueError: invalid literal for int() with base 10: 'abc'"
    assert "FAIL square.yaml::square-of-a-word" in result.output
    assert named in result.output
    assert "status 400 500" in words(result.output)
    assert "5 passed, 1 failed" in result.output  # the other cases ran
    suite = ET.parse(junit).getroot()
    failures = [c for c in suite if c.find("failure") is not None]
    assert [c.get("name") for c in failures] == ["square-of-a-word"]
    assert named in (failures[0].find("failure").text or "")  # type: ignore[union-attr]
    assert named in markdown.read_text()


def test_one_case_alone_gives_the_verdict_it_gets_in_the_full_run() -> None:
    """A case after a login case sees no cookie of it: alone or in the run, the same verdict."""
    alone = contract_run("-k", "me-anonymous")
    assert alone.exit_code == 0, alone.output
    assert "1 passed, 0 failed" in alone.output
    together = contract_run("--no-fuzz")
    assert "FAIL" not in together.output
