"""A reset hook is not run against a database a live gateway serves (#23): while a gateway built
from the same settings reads the same flag store, `contract_reset` is refused unless forced."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from strangler.cli.main import main
from strangler.comparison.ledger import Ledger
from strangler.contracts.errors import ResetRefused
from strangler.contracts.reset_guard import check_reset, gateway_workers
from strangler.contracts.sides import ContractSession
from strangler.flags.store import open_store
from strangler.settings import Settings, load_settings
from tests.contracts.conftest import PAIR
from tests.test_apps.contract_pair import shop_store

RESETS: list[str] = []


def reset() -> None:
    """The reset hook of the settings below: the pair's own, noted (it could wipe a database)."""
    RESETS.append("reset")
    shop_store.reset()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """The second pair's settings with a SQLite flag store of their own and a reset hook."""
    RESETS.clear()
    path = tmp_path / "strangler.toml"
    path.write_text(
        f'legacy = "tests.test_apps.contract_pair.shop_legacy:app"\n'
        f'migrated = "tests.test_apps.contract_pair.shop_migrated:app"\n'
        f'flags = "flags.db"\n'
        f'contracts = "{PAIR / "contracts"}"\n'
        f'contract_results = "results.json"\n'
        f'contract_reset = "tests.contracts.test_reset_guard:reset"\n',
        encoding="utf-8",
    )
    store = open_store(tmp_path / "flags.db", create=True)
    store.version()  # made on first use
    store.close()
    return path


def a_gateway_reads(store: Path, seconds_ago: float = 0) -> None:
    """Notes a gateway worker's heartbeat in the store, as a running gateway's does."""
    opened = open_store(store)
    try:
        opened.note_reader("host:123:gateway", 1)
    finally:
        opened.close()
    if seconds_ago:
        with sqlite3.connect(store) as db:
            db.execute("UPDATE readers SET seen_at = seen_at - ?", (seconds_ago,))


def contract_run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(
        main, ["contract", "run", "--config", str(config), "-k", "items-create", *args]
    )


def test_the_cli_refuses_the_reset_while_a_gateway_reads_the_store(config: Path) -> None:
    """`strangler contract run` stops before any reset, naming the store and both ways to force."""
    a_gateway_reads(config.parent / "flags.db")
    result = contract_run(config)
    assert result.exit_code == 2, result.output
    assert "the reset hook tests.contracts.test_reset_guard:reset was not run" in result.output
    assert "1 gateway worker(s) read the flag store" in result.output
    assert "--force-reset" in result.output
    assert "contract_reset_force = true" in result.output
    assert RESETS == []


def test_force_reset_runs_the_hook_anyway(config: Path) -> None:
    """--force-reset runs the reset hook before each play as before."""
    a_gateway_reads(config.parent / "flags.db")
    result = contract_run(config, "--force-reset")
    assert result.exit_code == 0, result.output
    assert RESETS


def test_the_setting_forces_it_for_the_pytest_plugin(config: Path) -> None:
    """The pytest plugin's session is refused too, unless `contract_reset_force = true`."""
    a_gateway_reads(config.parent / "flags.db")
    with pytest.raises(ResetRefused, match="contract_reset_force = true"):
        ContractSession.in_process(load_settings(config), Ledger())
    forced = load_settings(config, contract_reset_force=True)
    ContractSession.in_process(forced, Ledger())  # not refused


def test_a_gateway_not_heard_from_lately_does_not_refuse(config: Path) -> None:
    """A worker last heard from a minute ago is gone: the reset runs."""
    a_gateway_reads(config.parent / "flags.db", seconds_ago=60)
    assert gateway_workers(load_settings(config)) == 0
    result = contract_run(config)
    assert result.exit_code == 0, result.output
    assert RESETS


def test_stores_no_gateway_can_share_refuse_nothing(tmp_path: Path) -> None:
    """A `memory:` store and a store that does not exist have no gateway reading them."""
    for flags in ("memory:", str(tmp_path / "missing.db")):
        settings = Settings(legacy="a:b", migrated="c:d", flags=flags, root=str(tmp_path))
        assert gateway_workers(settings) == 0
        check_reset(settings, "pkg:reset")
    assert not (tmp_path / "missing.db").exists()
