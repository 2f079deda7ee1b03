"""The progress report as a terminal table, Markdown and a self-contained HTML page."""

from __future__ import annotations

import datetime
from typing import Any

import jinja2

from strangler.report.progress import EndpointProgress, Progress

_PAGES = jinja2.Environment(
    loader=jinja2.PackageLoader("strangler.report", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
)


def percent(share: float | None) -> str:
    return "-" if share is None else f"{share * 100:.1f}%"


def contract_cell(e: EndpointProgress) -> str:
    if not e.cases and not e.fuzzed and not e.skipped_cases:
        return "none"
    text = f"{e.cases - e.failed_cases}/{e.cases} cases"
    if e.skipped_cases:
        text += f" ({e.skipped_cases} skipped)"
    if e.fuzzed:
        text += f", {e.fuzzed} fuzzed" + (" (failed)" if e.fuzz_failed else "")
    return text


def shadow_cell(e: EndpointProgress) -> str:
    compared, mismatched = e.shadow
    return f"{mismatched}/{compared} ({percent(e.mismatch_rate)})" if compared else "-"


def rows(progress: Progress) -> list[dict[str, str]]:
    """One row per endpoint, the cells as all three renderings show them."""
    return [
        {
            "endpoint": e.endpoint,
            "ported": "yes" if e.ported else "no",
            "routing": e.routing + (f" [rollout {e.rollout}]" if e.rollout else ""),
            "on migrated": percent(e.migrated_share),
            "requests": str(sum(e.requests.values())),
            "contract": contract_cell(e),
            "ledger": str(e.ledger),
            "shadow mismatches": shadow_cell(e),
        }
        for e in progress.endpoints
    ]


def overall(progress: Progress) -> list[str]:
    lines = [
        f"endpoints on migrated: {percent(progress.endpoints_migrated)} of those legacy serves",
        f"traffic on migrated: {percent(progress.traffic_migrated)}"
        f" (counted by {progress.workers} gateway worker(s))",
        f"last contract run: {progress.contracts_at or 'none saved'}"
        + (
            ""
            if progress.contracts_failed is None
            else (" (failed)" if progress.contracts_failed else " (passed)")
        ),
    ]
    if progress.adhoc is not None:
        verdict = "failed" if progress.adhoc.get("failed") else "passed"
        lines.append(
            f"last ad-hoc contract run ({progress.adhoc.get('adhoc')}):"
            f" {progress.adhoc.get('at')} ({verdict}); not counted above"
        )
    reasons = progress.not_yet()
    if reasons:
        lines.append("legacy can be deleted: not yet")
        lines += [f"  - {reason}" for reason in reasons]
    else:
        lines.append("legacy can be deleted: yes")
    return lines


def markdown(progress: Progress) -> str:
    table = rows(progress)
    columns = list(table[0]) if table else ["endpoint"]
    out = [
        "# Migration progress",
        "",
        *(f"- {line}" if not line.startswith("  ") else line for line in overall(progress)),
        "",
    ]
    out.append("| " + " | ".join(columns) + " |")
    out.append("|" + "---|" * len(columns))
    for row in table:
        out.append("| " + " | ".join(row[c].replace("|", "\\|") for c in columns) + " |")
    return "\n".join(out) + "\n"


def html(progress: Progress, title: str = "Migration progress") -> str:
    generated = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    context: dict[str, Any] = {
        "title": title,
        "generated": generated,
        "rows": rows(progress),
        "overall": overall(progress),
        "deletable": not progress.not_yet(),
        "endpoints_migrated": percent(progress.endpoints_migrated),
        "traffic_migrated": percent(progress.traffic_migrated),
    }
    return _PAGES.get_template("report.html").render(context)
