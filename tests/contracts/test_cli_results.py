"""Which contract run the reports read (#24): the canonical one, never an ad-hoc one."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner, Result

from strangler.assembly import create_gateway, runtime_of
from strangler.cli.main import main
from strangler.comparison.saved import load_adhoc, load_results
from strangler.report.render import contract_cell
from tests.contracts.conftest import PAIR
from tests.test_apps.contract_pair import shop_legacy, shop_migrated

PROJECT = """\
legacy = "tests.test_apps.contract_pair.shop_legacy:app"
migrated = "tests.test_apps.contract_pair.shop_migrated:app"
flags = "memory:"
contracts = "contracts"
contract_reset = "tests.test_apps.contract_pair.shop_store:reset"
contract_results = "var/results.json"
fuzz_examples = 5
"""


def contract_run(config: Path, *args: str) -> Result:
    """Runs `strangler contract run --config CONFIG ARGS` in process."""
    return CliRunner().invoke(
        main, ["contract", "run", "--config", str(config), *args], catch_exceptions=False
    )


def contract_column(results: Path) -> dict[str, str]:
    """The dashboard's contract column, by endpoint, as a gateway reading `results` shows it."""
    gateway = create_gateway(
        shop_legacy.app, shop_migrated.app, "memory:", contract_results=results
    )
    try:
        return {e.endpoint: contract_cell(e) for e in runtime_of(gateway).progress().endpoints}
    finally:
        gateway.close()


def test_ad_hoc_runs_leave_the_dashboards_contract_column_unchanged(tmp_path: Path) -> None:
    """After a whole run, `-k`, `--no-fuzz`, another `--corpus` and another port are saved
    aside: the dashboard's contract column still shows the whole run's cases and fuzzing."""
    config = tmp_path / "strangler.toml"
    config.write_text(PROJECT)
    shutil.copytree(PAIR / "contracts", tmp_path / "contracts")
    part = tmp_path / "part"
    part.mkdir()
    shutil.copy(PAIR / "contracts" / "login.yaml", part)
    results = tmp_path / "var" / "results.json"
    contract_run(config)
    whole = load_results(results)
    assert whole is not None
    assert whole["adhoc"] is None
    column = contract_column(results)
    assert "fuzzed" in column["POST /items"]
    for extra in (
        ("-k", "items-missing-name"),
        ("--no-fuzz",),
        ("--corpus", str(part)),
        ("--migrated", "tests.test_apps.contract_pair.shop_naive:app"),
    ):
        result = contract_run(config, *extra)
        assert "an ad-hoc run" in result.output
        assert "stale ledger entries not judged" in result.output
        assert load_results(results) == whole
        assert contract_column(results) == column
        assert load_adhoc(results) is not None
