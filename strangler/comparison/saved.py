"""Contract results saved where `strangler status`, `report` and the dashboard read them.

The canonical result is the last whole run: the whole corpus from the configured folder, the
configured apps, fuzzing on. It alone gates "legacy can be deleted" (`contract_results`, default
var/contract-results.json beside the settings). A run that left part of that out (`-k`, another
`--corpus`, `--no-fuzz`, another `--legacy` or `--migrated`) is ad hoc: it is saved beside it
under a name of its own (`contract-results.adhoc.json`), shown as such, and never replaces it.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

from strangler.comparison.results import RunResult

FORMAT = "strangler-contracts/1"


def ad_hoc(
    *,
    select: str | None = None,
    corpus: Path | None = None,
    configured: Path | None = None,
    fuzz: bool = True,
    apps: bool = False,
) -> str | None:
    """Why a run is not the canonical one, as the reports say it (None: it is).

    `corpus`: the folder given on the command line, if any; `configured`: the settings' one;
    `apps`: whether `--legacy` or `--migrated` replaced a configured app."""
    reasons = []
    if select is not None:
        reasons.append(f"-k {select}")
    if corpus is not None and (configured is None or corpus.resolve() != configured.resolve()):
        reasons.append(f"--corpus {corpus}")
    if not fuzz:
        reasons.append("--no-fuzz")
    if apps:
        reasons.append("other apps")
    return ", ".join(reasons) or None


def adhoc_path(path: Path) -> Path:
    """Where ad-hoc results go, beside the canonical ones at `path`."""
    return path.with_name(f"{path.stem}.adhoc{path.suffix}")


def save_results(result: RunResult, path: Path) -> Path:
    """Writes what the run compared and found, per case and per fuzzed endpoint: at `path` for
    the canonical run, at `adhoc_path(path)` for an ad-hoc one (`result.adhoc`). Returns where.

    A case counts for the endpoint its file names (`endpoint:`), or else for the requests of the
    steps it compares: setup it merely runs (a login, a record made on legacy) says nothing of
    the endpoints that setup touches."""
    cases = []
    for case_result in result.cases:
        case = case_result.case
        compared = [s for i, s in enumerate(case.steps) if case.compared(i)]
        requests = sorted({f"{s.request.method.upper()} {s.request.path}" for s in compared})
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
        "adhoc": result.adhoc,
        "failed": result.failed,
        "stopped": result.stopped,
        "compared": result.compared,
        "cases": cases,
        "fuzz": fuzz,
    }
    where = adhoc_path(path) if result.adhoc else path
    where.parent.mkdir(parents=True, exist_ok=True)
    where.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return where


def load_results(path: Path) -> dict[str, Any] | None:
    """The canonical results saved at `path`, or None when no whole run saved any (or the file
    is not ours)."""
    data = _load(path)
    return data if data is not None and not data.get("adhoc") else None


def load_adhoc(path: Path) -> dict[str, Any] | None:
    """The last ad-hoc run's results, beside the canonical ones at `path`, or None."""
    data = _load(adhoc_path(path))
    return data if data is not None and data.get("adhoc") else None


def _load(path: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == FORMAT else None
