"""`strangler serve` (strangler.cli.serve), in process: what it refuses before serving anything.

It serving for real, behind uvicorn, is tested in tests/e2e/test_server.py and test_limits.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from strangler.cli.main import main


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ('sticky = "jwt"', "sticky = 'jwt' is not understood"),
        ('admin_prefix = "admin"', "admin_prefix 'admin' must be a path below the root"),
        ("legacy_threads = 0", 'legacy_threads = 0: give "auto" or a number of threads'),
        ('legacy_threads = "many"', "legacy_threads = 'many': give"),
        ("shadow_concurrency = 0", "shadow_concurrency = 0: give a positive number"),
        ('shadow_redact = ["$token"]', "shadow_redact: '$token' is not a JSON path"),
        ('body_limits = {"POST /nope" = 10}', "body_limits names 'POST /nope'"),
        ('body_limits = {"GET /hello" = "big"}', "body_limits['GET /hello'] = 'big'"),
    ],
)
def test_serve_refuses_bad_settings_in_one_line(tmp_path: Path, setting: str, message: str) -> None:
    """A bad setting stops `strangler serve` with one line saying what to write (#11)."""
    path = tmp_path / "strangler.toml"
    path.write_text(
        'legacy = "tests.test_apps.pair:legacy"\nmigrated = "tests.test_apps.pair:migrated"\n'
        f'flags = "memory:"\n{setting}\n'
    )
    result = CliRunner().invoke(main, ["serve", "--config", str(path)])
    assert result.exit_code == 2
    assert result.output.startswith("error: ")
    assert "\n" not in result.output.strip()  # one line
    assert message in result.output
    assert "Traceback" not in result.output
