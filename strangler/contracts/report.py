"""Reports of a contract run: for a terminal, for CI (JUnit XML), for a pull request (Markdown).

Every difference is shown the same way everywhere: case (and step), where, legacy, migrated.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import click

from strangler.contracts.cases import Request
from strangler.contracts.compare import ABSENT, Conforms
from strangler.contracts.fuzz import as_corpus_case
from strangler.contracts.results import CaseResult, Found, FuzzResult, RunResult

WIDTH = 48  # of a value in a table; longer values are cut in the middle


def show(value: Any, width: int = WIDTH) -> str:
    """A value as a reader wants to see it: JSON for JSON, repr for bytes, cut to `width`."""
    if value is ABSENT or isinstance(value, Conforms | bytes):
        text = repr(value)
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, allow_nan=True)
        except (TypeError, ValueError):
            text = repr(value)
    if len(text) > width:
        half = (width - 3) // 2
        text = f"{text[:half]}...{text[-half:]}"
    return text


def where(found: Found) -> str:
    """Where a difference is: the step (if the case has several) and the location."""
    return f"{found.step}: {found.where}" if found.step else found.where


def difference_lines(differences: Iterable[Found], limit: int = 20) -> list[str]:
    """A plain table of differences: where, legacy, migrated."""
    rows = [(where(d), show(d.legacy), show(d.migrated)) for d in differences]
    shown, hidden = rows[:limit], len(rows) - limit
    if not shown:
        return []
    widths = [max(len(r[i]) for r in [("where", "legacy", "migrated"), *shown]) for i in range(3)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [("where", "legacy", "migrated"), *shown]
    ]
    if hidden > 0:
        lines.append(f"... and {hidden} more")
    return lines


def case_failure(result: CaseResult) -> str:
    """Why a case failed, as pytest and the terminal report print it."""
    lines = [f"{result.case.where}: legacy and migrated differ"]
    if result.case.description:
        lines.append(result.case.description)
    lines += ["  " + line for line in difference_lines(result.undeclared)]
    lines += [f"  error: {error}" for error in result.errors]
    by_entry: dict[Any, list[str]] = {}
    for found in result.declared:
        by_entry.setdefault(found.declared, []).append(where(found))
    for entry, places in by_entry.items():
        lines.append(f"  declared by ledger line {entry.line}: {', '.join(places)}")
    return "\n".join(lines)


def fuzz_failure(result: FuzzResult, defaults: Request | None = None) -> str:
    """A fuzz failure: the differences of the minimal request, and that request as a case."""
    if result.error:
        return f"fuzz {result.endpoint}: {result.error}"
    assert result.failure is not None
    assert result.minimal is not None
    lines = [
        f"fuzz {result.endpoint}: a generated request differs (seed {result.seed},"
        f" after {result.examples} tries, shrunk); differences:"
    ]
    lines += ["  " + line for line in difference_lines(result.failure.undeclared)]
    lines += [f"  error: {error}" for error in result.failure.errors]
    lines.append("minimal request, as a corpus case to paste into the endpoint's file:")
    case = as_corpus_case(result.minimal, defaults if defaults is not None else Request())
    lines += ["  " + line for line in case.rstrip().splitlines()]
    return "\n".join(lines)


def terminal(
    run: RunResult,
    echo: Callable[[str], None] = click.echo,
    *,
    defaults: dict[str, Request] | None = None,
) -> None:
    """The readable report: failures in full, declared and stale ledger entries, a summary."""

    def red(text: str) -> str:
        return click.style(text, fg="red")

    def green(text: str) -> str:
        return click.style(text, fg="green")

    def yellow(text: str) -> str:
        return click.style(text, fg="yellow")

    for result in run.cases:
        if result.failed:
            echo(red("FAIL ") + case_failure(result))
        elif result.declared:
            places = Counter(d.where for d in result.declared)
            listed = ", ".join(f"{k} x{n}" if n > 1 else k for k, n in places.items())
            echo(yellow("DECLARED ") + f"{result.case.name}: {listed}")
        elif result.skipped:
            echo(yellow("SKIP ") + f"{result.case.where}: {result.skipped}")
    for fuzzed in run.fuzz:
        if fuzzed.failed:
            echo(red("FAIL ") + fuzz_failure(fuzzed, (defaults or {}).get(fuzzed.endpoint)))
        else:
            declared = ", ".join(f"{k} x{v}" for k, v in sorted(fuzzed.declared.items()))
            note = f"; declared: {declared}" if declared else ""
            echo(
                green("FUZZ ")
                + f"{fuzzed.endpoint}: {fuzzed.examples} requests, no undeclared difference"
                f" ({fuzzed.seconds:.1f}s){note}"
            )
    for endpoint in run.not_fuzzed:
        echo(yellow("NOT FUZZED ") + f"{endpoint}: no corpus file says `endpoint: {endpoint}`")
    used = Counter(d.declared for c in run.cases for d in c.declared if d.declared)
    for entry, times in used.items():
        echo(f"ledger line {entry.line} ({entry.describe()}) declared {times}: {entry.why}")
    for entry in run.stale:
        echo(
            yellow("STALE ")
            + f"ledger line {entry.line} ({entry.describe()}): no longer differs; remove it"
        )
    echo(summary(run, colour=True))


def counts(run: RunResult) -> dict[str, int]:
    """How many cases passed, failed, passed with declared differences, were skipped."""
    return {
        "passed": sum(not c.failed and not c.skipped for c in run.cases),
        "failed": sum(c.failed for c in run.cases) + sum(f.failed for f in run.fuzz),
        "declared": sum(bool(c.declared) and not c.failed for c in run.cases),
        "skipped": sum(bool(c.skipped) for c in run.cases),
        "fuzzed": sum(not f.failed for f in run.fuzz),
        "stale": len(run.stale),
    }


def summary(run: RunResult, *, colour: bool = False) -> str:
    """One closing line: `N passed, N failed` first, as CI log readers expect."""
    n = counts(run)
    text = (
        f"{n['passed']} passed, {n['failed']} failed, {n['declared']} with declared differences,"
        f" {n['skipped']} skipped, {n['fuzzed']} endpoints fuzzed clean, {n['stale']} stale"
        f" ledger entries in {run.seconds:.1f}s"
    )
    if not colour:
        return text
    return click.style(text, fg="red" if run.failed else "green", bold=True)


def junit(run: RunResult) -> str:
    """JUnit XML: a testcase per case and per fuzzed endpoint, for CI systems."""
    suite = ET.Element(
        "testsuite",
        name="contracts",
        tests=str(len(run.cases) + len(run.fuzz)),
        failures=str(counts(run)["failed"]),
        skipped=str(counts(run)["skipped"]),
        time=f"{run.seconds:.3f}",
    )
    for result in run.cases:
        file = result.case.file.stem if result.case.file else "corpus"
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"contracts.{file}",
            name=result.case.name,
            time=f"{result.seconds:.3f}",
        )
        if result.failed:
            failure = ET.SubElement(case, "failure", message=_first_line(result))
            failure.text = case_failure(result)
        elif result.skipped:
            ET.SubElement(case, "skipped", message=result.skipped)
        elif result.declared:
            ET.SubElement(case, "system-out").text = case_failure(result)
    for fuzzed in run.fuzz:
        case = ET.SubElement(
            suite,
            "testcase",
            classname="contracts.fuzz",
            name=fuzzed.endpoint,
            time=f"{fuzzed.seconds:.3f}",
        )
        if fuzzed.failed:
            failure = ET.SubElement(case, "failure", message=f"fuzz {fuzzed.endpoint} differs")
            failure.text = fuzz_failure(fuzzed)
    for entry in run.stale:
        ET.SubElement(
            suite, "system-err"
        ).text = f"stale ledger entry at line {entry.line}: {entry.describe()}"
    ET.indent(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode")


def _first_line(result: CaseResult) -> str:
    if result.undeclared:
        first = result.undeclared[0]
        return f"{where(first)}: legacy {show(first.legacy)}, migrated {show(first.migrated)}"
    return result.errors[0] if result.errors else "failed"


def markdown(run: RunResult) -> str:
    """A summary for a pull request: verdict, undeclared and declared differences, stale entries."""
    verdict = "❌ legacy and migrated differ" if run.failed else "✅ no undeclared difference"
    lines = [f"## Contract tests: {verdict}", "", summary(run), ""]
    failing = [d for c in run.cases for d in c.undeclared]
    if failing:
        lines += ["### Undeclared differences", "", "| case | where | legacy | migrated |"]
        lines.append("|---|---|---|---|")
        lines += [
            f"| `{d.case}` | `{where(d)}` | `{_cell(d.legacy)}` | `{_cell(d.migrated)}` |"
            for d in failing
        ]
        lines.append("")
    errors = [(c.case.name, e) for c in run.cases for e in c.errors]
    if errors:
        lines += ["### Errors", ""] + [f"- `{name}`: {error}" for name, error in errors] + [""]
    for fuzzed in (f for f in run.fuzz if f.failed):
        lines += [f"### Fuzzing `{fuzzed.endpoint}`", "", "```", fuzz_failure(fuzzed), "```", ""]
    used = Counter(d.declared for c in run.cases for d in c.declared if d.declared)
    if used:
        lines += ["### Declared differences (in the ledger)", "", "| entry | times | why |"]
        lines.append("|---|---|---|")
        lines += [f"| `{e.describe()}` | {n} | {e.why} |" for e, n in used.items()]
        lines.append("")
    if run.stale:
        lines += ["### Stale ledger entries (no longer differ: remove them)", ""]
        lines += [f"- line {e.line}: {e.describe()}: {e.why}" for e in run.stale] + [""]
    if run.fuzz:
        lines += ["### Fuzzing", "", "| endpoint | requests | seed | result |", "|---|---|---|---|"]
        lines += [
            f"| `{f.endpoint}` | {f.examples} | {f.seed} | {'❌' if f.failed else '✅'} |"
            for f in run.fuzz
        ]
    return "\n".join(lines).rstrip() + "\n"


def _cell(value: Any) -> str:
    return show(value).replace("|", "\\|").replace("`", "'")
