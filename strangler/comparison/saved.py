"""The last contract run's results, saved where `strangler status` and `strangler report` read
them (`contract_results`, default var/contract-results.json beside the settings)."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

from strangler.comparison.results import RunResult

FORMAT = "strangler-contracts/1"


def save_results(result: RunResult, path: Path) -> None:
    """Writes what the run compared and found, per case and per fuzzed endpoint."""
    cases = []
    for case_result in result.cases:
        case = case_result.case
        requests = sorted({f"{s.request.method.upper()} {s.request.path}" for s in case.steps})
        cases.append(
            {
                "name": case.name,
                "where": case.where,
                "endpoint": case.endpoint,
                "requests": requests,
                "failed": case_result.failed,
                "skipped": case_result.skipped,
                "compared": case_result.compared,
            }
        )
    fuzz = [
        {"endpoint": f.endpoint, "examples": f.examples, "failed": f.failed, "compared": f.compared}
        for f in result.fuzz
    ]
    data = {
        "format": FORMAT,
        "at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "failed": result.failed,
        "stopped": result.stopped,
        "compared": result.compared,
        "cases": cases,
        "fuzz": fuzz,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def load_results(path: Path) -> dict[str, Any] | None:
    """The saved results, or None when no run saved any (or the file is not ours)."""
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if data.get("format") == FORMAT else None
