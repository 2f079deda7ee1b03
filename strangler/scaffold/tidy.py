"""Formats a draft with ruff, where it is installed, by the settings of the project it is in.

strangler.scaffold.pretty lays the draft out as ruff would already; what only the project's
settings decide (which imports are its own, its line length) is left to ruff itself. Without
ruff the draft stays as written, which is valid and readable.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

TIMEOUT = 60.0  # seconds for each ruff run: one file, so a second is plenty on a slow machine


def ruff() -> list[str] | None:
    """How to run ruff: the program beside this Python (its venv's), else the ruff package
    run as `python -m ruff` (not imported: ruff is no requirement of strangler's), else the
    program on PATH, else None."""
    beside = Path(sys.executable).parent / ("ruff.exe" if os.name == "nt" else "ruff")
    if beside.is_file():
        return [str(beside)]
    if importlib.util.find_spec("ruff") is not None:
        return [sys.executable, "-m", "ruff"]
    found = shutil.which("ruff")
    return [found] if found is not None else None


def tidy(path: Path, project: Path) -> str:
    """Sorts the imports of the draft at `path` and formats it with ruff, by the settings of
    the project at `project` (those of a project around `path` first, as ruff looks them up);
    says what it did, for the command to print."""
    program = ruff()
    if program is None:
        return "ruff not found: the draft is laid out as ruff formats, its imports unsorted"
    for args in (["check", "--fix", "--select", "I", "--quiet"], ["format", "--quiet"]):
        try:
            done = subprocess.run(
                [*program, *args, str(path.resolve())],
                cwd=project,
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:  # the draft stays as written
            return f"ruff {args[0]} could not run on the draft ({exc}); it stays as written"
        if done.returncode != 0:
            problem = (done.stderr or done.stdout).strip().splitlines()
            return f"ruff {args[0]} failed on the draft: {problem[-1] if problem else '?'}"
    return f"formatted with ruff ({' '.join(program)}), by the settings of {project}"
