"""Measures how soon `strangler contract run` shows progress and how close to `--max-time` it ends.

The worked example is served (`strangler serve`, CPU 0); the contract run (CPU 1) goes through its
force header (`--url`) with the whole corpus and fuzzing, at plain-line progress (CI=true) and a
budget of BUDGET seconds, far less than the whole run takes. Reported: seconds from the command's
start to its first progress line and to its first case line, to its exit, and past the budget;
the exit code; and the lines the run gave about what the budget left out.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from probes._common import LOAD_CPU, REPO, serve_example

TOKEN = "probe-admin-token-0123456789"
BUDGET = 8.0  # seconds: less than the whole run takes here (opening and its cases take ~12 s)
LIMIT = 180.0  # the probe's own bound


def run(work: Path) -> dict[str, Any]:
    env = {**os.environ, "STRANGLER_ADMIN_TOKEN": TOKEN, "CI": "true"}
    with serve_example(work, env={"STRANGLER_ADMIN_TOKEN": TOKEN}) as (url, _):
        argv = ["taskset", "-c", LOAD_CPU, str(Path(sys.executable).parent / "strangler")]
        argv += ["contract", "run", "--url", url, "--max-time", f"{BUDGET:g}"]
        started = time.monotonic()
        process = subprocess.Popen(
            argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        seen: dict[str, float] = {}
        err_lines: list[str] = []

        def follow() -> None:
            assert process.stderr is not None
            for line in process.stderr:
                now = time.monotonic() - started
                seen.setdefault("first", now)
                if "] case " in line:
                    seen.setdefault("case", now)
                err_lines.append(line.rstrip())

        reader = threading.Thread(target=follow, daemon=True)
        reader.start()
        try:
            out, _ = process.communicate(timeout=LIMIT)
        except subprocess.TimeoutExpired:
            process.kill()
            out, _ = process.communicate()
        ended = time.monotonic() - started
        reader.join(timeout=5)
    left = [line for line in out.splitlines() if line.startswith(("INCOMPLETE", "CUT SHORT"))]
    return {
        "budget_s": BUDGET,
        "first_progress_line_s": round(seen.get("first", -1), 2),
        "first_case_line_s": round(seen.get("case", -1), 2),
        "exited_s": round(ended, 2),
        "past_budget_s": round(ended - BUDGET, 2),
        "exit_code": process.returncode,
        "progress_lines": len(err_lines),
        "left_out": left,
        "summary": out.strip().splitlines()[-2:] if out.strip() else [],
    }
