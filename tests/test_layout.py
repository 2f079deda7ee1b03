"""The two rules that keep the layout honest, checked on the source.

The library imports neither app (it knows them only by MODULE:ATTR), and nothing outside
`legacy/` imports it, since a migration ends by deleting `legacy/`.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = {"app", "legacy", "migrated", "contract_tests", "tests"}


def imports(path: Path) -> Iterator[str]:
    """The top-level package of every module `path` imports."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


def python_files(*folders: str) -> list[Path]:
    return [p for folder in folders for p in (REPO / folder).rglob("*.py")]


def test_the_library_imports_no_app() -> None:
    """No module of strangler/ imports the example (or any app) by name."""
    found = {
        f"{path.relative_to(REPO)}: {name}"
        for path in python_files("strangler")
        for name in imports(path)
        if name in EXAMPLE
    }
    assert python_files("strangler")
    assert found == set()


def test_nothing_outside_legacy_imports_it() -> None:
    """Deleting legacy/ breaks no import: only legacy/ itself names it."""
    everywhere = python_files("strangler", "app", "migrated", "contract_tests", "tests", "scripts")
    found = {str(path.relative_to(REPO)) for path in everywhere if "legacy" in set(imports(path))}
    assert len(everywhere) > 50
    assert found == set()


def test_the_pytest_plugin_imports_nothing_heavy() -> None:
    """pytest loads the plugin in every project where strangler is installed: it must not pull
    in the web frameworks or Hypothesis, and every public name still resolves on use."""
    probe = (
        "import sys, strangler.pytest_plugin, strangler;"
        "heavy = [m for m in ('fastapi', 'starlette', 'flask', 'hypothesis', 'httpx')"
        " if m in sys.modules];"
        "assert not heavy, heavy;"
        "assert all(getattr(strangler, name) for name in strangler.__all__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
