"""`strangler serve` (strangler.cli.serve), in process: what it refuses before serving anything.

It serving for real, behind uvicorn, is tested in tests/e2e/test_server.py and test_limits.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from strangler.cli.main import main
from strangler.flags.store import open_store


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


def test_serve_creates_a_store_once_and_refuses_to_start_afresh_where_it_was_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first start creates the store; after its file is deleted a start is refused, saying
    how to put it back or begin anew, and creates nothing; `--init` begins anew (#22: a
    restart came back on the seed table)."""
    import strangler.cli.serve

    # Everything up to serving, not the server itself.
    monkeypatch.setattr(strangler.cli.serve, "run", lambda *args, **kwargs: None)
    monkeypatch.setattr(os, "environ", dict(os.environ))  # serve hands its settings on there
    path = tmp_path / "strangler.toml"
    path.write_text(
        'legacy = "tests.test_apps.pair:legacy"\nmigrated = "tests.test_apps.pair:migrated"\n'
        'flags = "var/flags.db"\n'
    )
    store = tmp_path / "var" / "flags.db"

    def serve(*options: str) -> Result:
        return CliRunner().invoke(main, ["serve", "--config", str(path), *options])

    def identity() -> str | None:
        opened = open_store(store)
        opened.version()
        opened.close()
        return opened.store_id

    assert serve().exit_code == 0
    first = identity()
    assert first is not None
    for file in store.parent.glob("flags.db*"):
        if not file.name.endswith(".created"):
            file.unlink()
    refused = serve()
    assert refused.exit_code == 2
    assert f"the flag store {store} is gone" in refused.output
    assert "strangler serve --init" in refused.output
    assert not store.exists()
    assert serve("--init").exit_code == 0
    assert identity() not in (None, first)
