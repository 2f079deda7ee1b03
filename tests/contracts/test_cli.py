"""`strangler contract run` on the second pair (config file alone) and on the worked example."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from strangler.cli.main import main
from strangler.comparison.saved import load_results
from strangler.settings import Settings
from tests.contracts.conftest import PAIR

CONFIG = str(PAIR / "strangler.toml")


def contract_run(*args: str) -> Result:
    """Runs `strangler contract run ARGS` in process."""
    return CliRunner().invoke(main, ["contract", "run", *args], catch_exceptions=False)


def test_the_second_pair_passes_with_its_config_file_alone(tmp_path: Path) -> None:
    """A different Flask/FastAPI pair runs from its strangler.toml: cases, fuzzing, ledger."""
    junit, markdown = tmp_path / "junit.xml", tmp_path / "summary.md"
    result = contract_run("--config", CONFIG, "--junit", str(junit), "--markdown", str(markdown))
    assert result.exit_code == 0, result.output
    assert "0 failed" in result.output
    assert "FUZZ POST /items: 60 requests, no undeclared difference" in result.output
    assert "DECLARED items-create: step 1 (login): header:x-api-version" in result.output
    assert "ledger line 2 (POST /items at header:x-api-version) declared differences in" in (
        result.output
    )
    assert "items-create (200/200, 201/201)" in result.output
    suite = ET.parse(junit).getroot()
    assert suite.get("failures") == "0"
    assert {case.get("name") for case in suite} >= {"items-create", "visits-count-from-fresh-state"}
    assert "✅ no undeclared difference" in markdown.read_text()
    saved = load_results(PAIR / "var" / "contract-results.json")  # for `strangler report`
    assert saved is not None
    assert saved["failed"] is False
    assert {case["name"] for case in saved["cases"]} >= {"items-create"}
    assert any(f["endpoint"] == "POST /items" and f["examples"] for f in saved["fuzz"])


def test_a_naive_port_fails_with_each_difference_named(tmp_path: Path) -> None:
    """FastAPI's 422 where legacy said 400 fails the run, naming case, where and both values."""
    markdown = tmp_path / "summary.md"
    result = contract_run(
        "--config",
        CONFIG,
        "--migrated",
        "tests.test_apps.contract_pair.shop_naive:app",
        "--markdown",
        str(markdown),
    )
    assert result.exit_code == 1
    assert "FAIL items.yaml::items-missing-name" in result.output
    assert "step 2: status" in result.output
    assert "| `items-missing-name` | `step 2: status` | `400` | `422` |" in markdown.read_text()
    # The fuzzer finds the length check the naive port forgot, and prints a case to paste.
    assert "FAIL fuzz POST /items" in result.output
    assert "- name: fuzz-post-items-" in result.output


def test_a_stale_ledger_entry_is_reported_and_fails_only_when_strict(tmp_path: Path) -> None:
    """An accepted difference that no longer occurs is reported as stale."""
    ledger = tmp_path / "ledger.yaml"
    ledger.write_text(
        "differences:\n"
        "  - {endpoint: POST /items, where: 'header:x-api-version', why: new header}\n"
        "  - {case: login-ok, where: status, why: fixed long ago}\n"
    )
    args = ("--config", CONFIG, "--ledger", str(ledger), "--examples", "10")
    relaxed = contract_run(*args)
    assert relaxed.exit_code == 0, relaxed.output
    assert "STALE ledger line 3 (case login-ok at status)" in relaxed.output
    assert contract_run(*args, "--strict-ledger").exit_code == 1


def test_a_filtered_run_calls_no_entry_stale(tmp_path: Path) -> None:
    """-k and --no-fuzz runs exercise part of the corpus: they judge no entry stale."""
    ledger = tmp_path / "ledger.yaml"
    ledger.write_text(
        "differences:\n"
        "  - {endpoint: POST /items, where: 'header:x-api-version', why: new header}\n"
    )
    for extra in (("-k", "items-missing-name"), ("--no-fuzz",)):
        result = contract_run(
            "--config", CONFIG, "--ledger", str(ledger), "--strict-ledger", *extra
        )
        assert result.exit_code == 0, result.output
        assert "STALE" not in result.output
        assert "stale ledger entries not judged" in result.output


def test_a_bad_corpus_exits_2_naming_the_file(tmp_path: Path) -> None:
    """A corpus mistake stops the run before any request, with the file and case named."""
    (tmp_path / "bad.yaml").write_text("cases: [{name: a, path: nope}]")
    result = CliRunner().invoke(
        main, ["contract", "run", "--config", CONFIG, "--corpus", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "bad.yaml: case 'a': path 'nope' must be a string starting with '/'" in result.output


@pytest.mark.usefixtures("example_env")
def test_the_worked_example_catches_a_422_for_a_missing_field() -> None:
    """A migrated /predict that answers 422 for a missing field is caught and named."""
    result = contract_run(
        "--migrated",
        "tests.test_apps.ml_naive_port:app",
        "--select",
        "predict-missing-*",
        "--no-fuzz",
    )
    assert result.exit_code == 1
    assert "FAIL predict.yaml::predict-missing-features" in result.output
    assert "step 2: status" in result.output
    assert "400" in result.output
    assert "422" in result.output
    assert '"Missing features field"' in result.output


@pytest.mark.usefixtures("example_env")
def test_the_worked_example_passes_its_own_corpus_quickly() -> None:
    """The worked example's corpus (no fuzzing here) passes with its ledger."""
    result = contract_run("--no-fuzz")
    assert result.exit_code == 0, result.output
    assert " 0 failed" in result.output


@pytest.mark.usefixtures("example_env")
def test_via_flags_catches_a_naive_port_routed_by_its_flag() -> None:
    """Routed by the flag table (no force header), the naive port's 422 is still caught."""
    result = contract_run(
        "--migrated",
        "tests.test_apps.ml_naive_port:app",
        "--via",
        "flags",
        "--select",
        "predict-missing-*",
    )
    assert result.exit_code == 1
    assert "FAIL predict.yaml::predict-missing-features" in result.output
    assert "422" in result.output


def test_via_flags_is_refused_against_a_live_gateway() -> None:
    """--via flags would rewrite a live gateway's flags: it is refused, and nothing is sent."""
    result = contract_run("--url", "http://127.0.0.1:9", "--via", "flags", "--no-fuzz")
    assert result.exit_code == 2
    assert "--via flags rewrites the flag table" in result.output


def test_the_help_names_the_corpus_and_ledger_defaults_it_uses() -> None:
    """`contract run --help` names the folder and ledger a run reads when neither is given (it
    said `contracts`, while the default folder is contract_tests/)."""
    default = {field.name: field.default for field in dataclasses.fields(Settings)}["contracts"]
    result = CliRunner().invoke(main, ["contract", "run", "--help"], terminal_width=200)
    corpus = next(line for line in result.output.splitlines() if "--corpus" in line)
    ledger = next(line for line in result.output.splitlines() if "--ledger" in line)
    assert f"{default}/" in corpus
    assert "ledger.yaml in the corpus folder" in ledger
