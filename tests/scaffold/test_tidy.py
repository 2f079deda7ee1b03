"""A draft passes ruff as written (#26: single quotes, 300-character lines, a long import):
laid out as ruff formats it, then formatted by ruff itself, by the project's settings, where
ruff is installed (it is in the dev venv)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from strangler.scaffold import tidy
from tests.scaffold.drafts import FLASKR, scaffold
from tests.support.servers import REPO

RUFF = tidy.ruff()  # found before a test hides it


def ruff(*args: str) -> subprocess.CompletedProcess[str]:
    """The dev venv's ruff, by this repository's settings."""
    assert RUFF is not None, "ruff is in the dev venv"
    return subprocess.run(
        [*RUFF, *args, "--config", str(REPO / "pyproject.toml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_draft_formatted_by_ruff_passes_ruff_format_and_check(tmp_path: Path) -> None:
    """With ruff installed, the draft written is formatted by it and passes `ruff format
    --check` and `ruff check` with the project's settings, and the command says so."""
    result = scaffold(FLASKR, tmp_path, "all", "--capture")
    assert "formatted with ruff" in result.output
    port = str(tmp_path / "port.py")
    assert ruff("format", "--check", port).returncode == 0, ruff("format", "--diff", port).stdout
    checked = ruff("check", "--output-format", "concise", port)
    assert checked.returncode == 0, checked.stdout


def test_a_draft_without_ruff_is_laid_out_as_ruff_formats_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ruff, the draft as generated already passes `ruff format --check` and every
    `ruff check` rule but the import order (which the project's settings decide), and the
    command says it was not formatted."""
    monkeypatch.setattr(tidy, "ruff", lambda: None)
    result = scaffold(FLASKR, tmp_path, "all", "--capture")
    assert "ruff not found" in result.output
    port = str(tmp_path / "port.py")
    assert ruff("format", "--check", port).returncode == 0, ruff("format", "--diff", port).stdout
    checked = ruff("check", "--output-format", "concise", "--extend-ignore", "I001", port)
    assert checked.returncode == 0, checked.stdout
    assert '@app.get(\n    "/",\n' in (tmp_path / "port.py").read_text()


def test_the_session_parameter_says_why_it_is_there(tmp_path: Path) -> None:
    """Each handler's `session: Session` carries a comment: it keeps Flask's `Vary: Cookie`,
    so a handler that never reads it must keep it."""
    scaffold(FLASKR, tmp_path, "GET /")
    source = (tmp_path / "port.py").read_text()
    assert "    session: Session,  # read, as legacy reads it: keeps Flask's `Vary: Cookie`" in (
        source
    )
