"""The `strangler` command in process, on a config of the rollout pair in a test's folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner, Result

from strangler.cli.main import main

PAIR_CONFIG = (
    'legacy = "tests.test_apps.rollout_pair:legacy"\n'
    'migrated = "tests.test_apps.rollout_pair:migrated"\nflags = "flags.db"\n'
)


def pair_cli(folder: Path) -> tuple[Callable[..., str], Callable[..., Result]]:
    """(run, invoke) on `folder`/strangler.toml: `run` asserts success and returns the output;
    `invoke` returns the result, for commands expected to fail."""
    config = folder / "strangler.toml"
    config.write_text(PAIR_CONFIG)
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(main, [*args, "--config", str(config)])

    def run(*args: str) -> str:
        result = invoke(*args)
        assert result.exit_code == 0, result.output
        return result.output

    return run, invoke
