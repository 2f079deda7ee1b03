"""Reports of a contract run: for a terminal, for CI (JUnit XML), for a pull request (Markdown).

Every difference is shown the same way everywhere: case (and step), where, legacy, migrated, then
the two bodies as a unified diff where a body differs, so two long values never look alike. Values
are cut to a window around their first difference, unless `full` (`--full`): then nothing is cut.
Every report says how many requests it compared and skipped; a run that compared none failed.
"""

from __future__ import annotations

import difflib
import json
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import click

from strangler.comparison.cases import Request
from strangler.comparison.compare import ABSENT, Conforms
from strangler.comparison.ledger import Entry
from strangler.comparison.results import CaseResult, Found, FuzzResult, RunResult
from strangler.contracts.fuzz import as_corpus_case

WIDTH = 48  # of a value in a table; longer values are cut around their first difference
DIFF_LINES = 60  # of a unified diff, unless full
ROWS = 20  # differences listed per case, unless full


def text_of(value: Any) -> str:
    """A value as a reader wants to see it: JSON for JSON, repr for bytes and markers."""
    if value is ABSENT or isinstance(value, Conforms | bytes):
        return repr(value)
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=True)
    except (TypeError, ValueError):
        return repr(value)


def show(value: Any, width: int | None = WIDTH, other: Any = None) -> str:
    """`value` as text, cut to `width` around where it first differs from `other`."""
    text = text_of(value)
    if width is None or len(text) <= width:
        return text
    other_text = text_of(other) if other is not None else ""
    first = next(
        (i for i, (a, b) in enumerate(zip(text, other_text, strict=False)) if a != b),
        min(len(text), len(other_text)),
    )
    start = max(0, min(first - width // 3, len(text) - width))
    cut = text[start : start + width]
    return ("..." if start else "") + cut + ("..." if start + width < len(text) else "")


def where(found: Found) -> str:
    """Where a difference is: the step (if the case has several) and the location."""
    return f"{found.step}: {found.where}" if found.step else found.where


def difference_lines(differences: Iterable[Found], *, full: bool = False) -> list[str]:
    """A plain table of differences (where, legacy, migrated), then a diff of each body."""
    found = list(differences)
    limit = None if full else ROWS
    width = None if full else WIDTH
    rows = [
        (where(d), show(d.legacy, width, d.migrated), show(d.migrated, width, d.legacy))
        for d in found[:limit]
    ]
    if not rows:
        return []
    mixed = any(d.mixed for d in found[:limit])
    header = (
        ("where", "reference (legacy)", "this order") if mixed else ("where", "legacy", "migrated")
    )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    if limit is not None and len(found) > limit:
        lines.append(f"... and {len(found) - limit} more (--full shows all)")
    for difference in found[:limit]:
        lines += body_diff(difference, full=full)
    return lines


def body_diff(found: Found, *, full: bool = False) -> list[str]:
    """A unified diff of the two values, line by line, where they are bodies or long text."""
    texts = [_as_text(found.legacy), _as_text(found.migrated)]
    if texts[0] is None or texts[1] is None:
        return []
    legacy, migrated = texts[0].splitlines(), texts[1].splitlines()
    if max(len(legacy), len(migrated)) < 2 and not full:
        return []  # one line each: the table's window already shows where they part
    diff = list(
        difflib.unified_diff(
            legacy, migrated, f"legacy {where(found)}", f"migrated {where(found)}", lineterm=""
        )
    )
    if not full and len(diff) > DIFF_LINES:
        diff = [*diff[:DIFF_LINES], f"... {len(diff) - DIFF_LINES} more diff lines (--full)"]
    return ["", *diff, ""] if diff else []


def _as_text(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str) and "\n" in value:
        return value
    return None


def case_failure(result: CaseResult, *, full: bool = False) -> str:
    """Why a case failed (or what it declared), as pytest and every report print it."""
    lines = [f"{result.case.where}: legacy and migrated differ"]
    if result.case.description:
        lines.append(result.case.description)
    lines += [
        "  " + line if line else "" for line in difference_lines(result.undeclared, full=full)
    ]
    lines += [f"  error: {error}" for error in result.errors]
    lines += [f"  {note}" for note in result.raised]
    if result.uncompared:  # setup: its answers may differ by any amount, unseen
        lines.append(f"  setup, run and not compared: {', '.join(result.uncompared)}")
    by_entry: dict[Entry, list[str]] = {}
    for found in result.declared:
        assert found.declared is not None
        by_entry.setdefault(found.declared, []).append(where(found))
    for entry, places in by_entry.items():
        lines.append(f"  declared by ledger line {entry.line}: {', '.join(places)}")
    return "\n".join(lines)


def fuzz_failure(result: FuzzResult, defaults: Request | None = None, *, full: bool = False) -> str:
    """A fuzz failure: the differences of the minimal request, and that request as a case."""
    if result.error:
        return f"fuzz {result.endpoint}: {result.error}"
    assert result.failure is not None
    assert result.minimal is not None
    tries = f"seed {result.seed}, after {result.examples} tries"
    if result.unsteady:  # seen once, so there was nothing to shrink it by
        found = f"differed ({tries}), but {result.unsteady}"
        label = "the request that showed it, as a corpus case to paste into the endpoint's file"
        label += " (`stateful: true` if it needs fresh state)"
    else:
        found = f"differs ({tries}, shrunk)"
        label = "minimal request, as a corpus case to paste into the endpoint's file"
    lines = [f"fuzz {result.endpoint}: a generated request {found}; differences:"]
    undeclared = difference_lines(result.failure.undeclared, full=full)
    lines += ["  " + line if line else "" for line in undeclared]
    lines += [f"  error: {error}" for error in result.failure.errors]
    lines += [f"  {note}" for note in result.failure.raised]
    lines.append(f"{label}:")
    case = as_corpus_case(result.minimal, defaults if defaults is not None else Request())
    lines += ["  " + line for line in case.rstrip().splitlines()]
    return "\n".join(lines)


def declarations(run: RunResult) -> list[tuple[Entry, list[str]]]:
    """Each ledger entry used, with the cases it declared differences in and, per request, the
    statuses the two sides gave (`case (legacy/migrated, ...)`); fuzzing counts as
    `fuzz METHOD /path`. An entry that matched a difference it was not written for shows up
    here, by the case and status it names."""
    uses: dict[Entry, dict[str, Counter[str]]] = {}
    seen: set[tuple[Entry, str, str, str]] = set()
    for result in run.cases:
        for found in result.declared:
            assert found.declared is not None
            request = (found.declared, found.case, found.step, found.request)
            if request in seen:  # several differences in one answer: one request
                continue
            seen.add(request)
            legacy, other = found.statuses
            cases = uses.setdefault(found.declared, {})
            cases.setdefault(found.case, Counter())[f"{legacy}/{other}"] += 1
    for fuzzed in run.fuzz:
        for entry, times in fuzzed.entries.items():
            uses.setdefault(entry, {})[f"fuzz {fuzzed.endpoint}"] = Counter({f"x{times}": 1})
    return [
        (entry, [f"{case} ({_counted(statuses)})" for case, statuses in cases.items()])
        for entry, cases in uses.items()
    ]


def _counted(counter: Counter[str]) -> str:
    return ", ".join(f"{k} x{n}" if n > 1 else k for k, n in counter.items())


def terminal(
    run: RunResult,
    echo: Callable[[str], None] = click.echo,
    *,
    defaults: dict[str, Request] | None = None,
    full: bool = False,
) -> None:
    """The readable report: failures in full, declared and stale ledger entries, a summary."""

    def red(text: str) -> str:
        return click.style(text, fg="red")

    def green(text: str) -> str:
        return click.style(text, fg="green")

    def yellow(text: str) -> str:
        return click.style(text, fg="yellow")

    for note in run.notes:
        echo(yellow("NOTE ") + note)
    for result in run.cases:
        if result.failed:
            echo(red("FAIL ") + case_failure(result, full=full))
        elif result.skipped:
            echo(yellow("SKIP ") + f"{result.case.where}: {result.skipped}")
        else:
            if result.declared:
                places = Counter(where(d) for d in result.declared)
                listed = ", ".join(f"{k} x{n}" if n > 1 else k for k, n in places.items())
                echo(yellow("DECLARED ") + f"{result.case.name}: {listed}")
            for note in result.raised:  # alike on both sides, so no difference; still worth a look
                echo(yellow("RAISED ") + f"{result.case.name}: {note}")
    for fuzzed in run.fuzz:
        for note in fuzzed.notes:
            echo(yellow("NOTE ") + f"fuzz {fuzzed.endpoint}: {note}")
        if fuzzed.failed:
            defaults_for = (defaults or {}).get(fuzzed.endpoint)
            echo(red("FAIL ") + fuzz_failure(fuzzed, defaults_for, full=full))
        elif fuzzed.cut_short:
            echo(
                yellow("CUT SHORT ")
                + f"{fuzzed.endpoint}: after {fuzzed.examples} of {fuzzed.wanted} requests:"
                f" {fuzzed.cut_short} ran out; no undeclared difference in those"
            )
        else:
            declared = ", ".join(f"{k} x{v}" for k, v in sorted(fuzzed.declared.items()))
            note = f"; declared: {declared}" if declared else ""
            echo(
                green("FUZZ ")
                + f"{fuzzed.endpoint}: {fuzzed.examples} requests, no undeclared difference"
                f" ({fuzzed.seconds:.1f}s){note}"
            )
    for endpoint, why in run.not_fuzzed.items():
        echo(yellow("NOT FUZZED ") + f"{endpoint}: {why}")
    for entry, cases in declarations(run):
        echo(
            f"ledger line {entry.line} ({entry.describe()}) declared differences in"
            f" {', '.join(cases)}: {entry.why}"
        )
    for entry in run.stale:
        echo(
            yellow("STALE ")
            + f"ledger line {entry.line} ({entry.describe()}): no longer differs; remove it"
        )
    for problem in problems(run):
        echo(red("STOPPED " if run.stopped else "FAIL ") + problem)
    for left in run.left_out:
        echo(yellow("INCOMPLETE ") + left)
    for line in slowest(run):
        echo(line)
    echo(summary(run, colour=True))


SLOWEST = 5  # cases and endpoints named in the summary


def slowest(run: RunResult, count: int = SLOWEST) -> list[str]:
    """Where the time went: the slowest cases, and the slowest fuzzed endpoints with their
    time per request (a `before:` setup replayed per example shows there)."""
    lines = []
    cases = sorted((c for c in run.cases if c.seconds), key=lambda c: -c.seconds)[:count]
    if cases:
        named = ", ".join(f"{c.case.name} {c.seconds:.2f}s" for c in cases)
        lines.append(f"slowest cases: {named}")
    fuzzed = sorted((f for f in run.fuzz if f.seconds), key=lambda f: -f.seconds)[:count]
    if fuzzed:
        named = ", ".join(
            f"{f.endpoint} {f.seconds:.1f}s"
            + (f" ({f.seconds / f.examples:.2f}s per request)" if f.examples else "")
            for f in fuzzed
        )
        lines.append(f"slowest endpoints: {named}")
    return lines


def problems(run: RunResult) -> list[str]:
    """What failed the run as a whole, beside its cases."""
    if run.stopped:
        return [f"the run stopped early: {run.stopped}"]
    if run.compared == 0:
        if not run.cases and not run.fuzz and run.selected is not None:
            return [f"no case matches -k {run.selected!r}: nothing was compared"]
        return ["nothing was compared: no case ran and nothing was fuzzed, so nothing is proven"]
    return []


def counts(run: RunResult) -> dict[str, int]:
    """How many cases passed, failed, passed with declared differences, were skipped."""
    return {
        "passed": sum(not c.failed and not c.skipped for c in run.cases),
        "failed": sum(c.failed for c in run.cases) + sum(f.failed for f in run.fuzz),
        "declared": sum(bool(c.declared) and not c.failed for c in run.cases),
        "skipped": sum(bool(c.skipped) for c in run.cases),
        "fuzzed": sum(not f.failed and not f.cut_short for f in run.fuzz),
        "stale": len(run.stale),
    }


def summary(run: RunResult, *, colour: bool = False) -> str:
    """One closing line: `N passed, N failed` first, as CI log readers expect."""
    n = counts(run)
    stale = (
        _many(n["stale"], "stale ledger entry", "stale ledger entries")
        if run.stale_judged
        else "stale ledger entries not judged (a partial run)"
    )
    took = f"in {run.seconds:.1f}s"
    if run.opening >= 0.05:  # the progress clock counts it: say where the time went
        took += f", {run.opening:.1f}s of it opening the apps"
    text = (
        f"{n['passed']} passed, {n['failed']} failed, {n['declared']} with declared differences,"
        f" {n['skipped']} skipped, {_many(n['fuzzed'], 'endpoint')} fuzzed clean;"
        f" {_many(run.compared, 'request')} compared, {run.skipped} skipped; {stale}; {took}"
    )
    if run.uncompared:  # distinct steps: each runs in every play, on both sides
        text += f"; {_many(run.uncompared, 'setup step')} run in every play, not compared"
    if run.incomplete:
        text += "; incomplete: a time budget left some out (listed above)"
    if not colour:
        return text
    colours = "red" if run.failed else "yellow" if run.incomplete else "green"
    return click.style(text, fg=colours, bold=True)


def _many(count: int, one: str, many: str | None = None) -> str:
    """`1 endpoint`, `2 endpoints`."""
    return f"{count} {one if count == 1 else many or one + 's'}"


def junit(run: RunResult, *, full: bool = False, defaults: dict[str, Request] | None = None) -> str:
    """JUnit XML: a testcase per case and per fuzzed endpoint, for CI systems."""
    suite = ET.Element(
        "testsuite",
        name="contracts",
        tests=str(len(run.cases) + len(run.fuzz)),
        failures=str(counts(run)["failed"] + len(problems(run))),
        skipped=str(counts(run)["skipped"] + sum(bool(f.cut_short) for f in run.fuzz)),
        time=f"{run.seconds:.3f}",
    )
    ET.SubElement(suite, "properties")
    for name, value in (("compared", run.compared), ("skipped_requests", run.skipped)):
        ET.SubElement(suite[0], "property", name=name, value=str(value))
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
            failure.text = case_failure(result, full=full)
        elif result.skipped:
            ET.SubElement(case, "skipped", message=result.skipped)
        elif result.declared or result.raised:
            ET.SubElement(case, "system-out").text = case_failure(result, full=full)
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
            failure.text = fuzz_failure(fuzzed, (defaults or {}).get(fuzzed.endpoint), full=full)
        elif fuzzed.cut_short:
            message = f"cut short after {fuzzed.examples} of {fuzzed.wanted} requests"
            ET.SubElement(case, "skipped", message=f"{message}: {fuzzed.cut_short} ran out")
    for problem in problems(run):
        case = ET.SubElement(suite, "testcase", classname="contracts", name="the run")
        ET.SubElement(case, "failure", message=problem)
    notes = [
        *run.notes,
        *(f"incomplete: {left}" for left in run.left_out),
        *(f"stale ledger entry at line {e.line}: {e.describe()}" for e in run.stale),
    ]
    if notes:
        ET.SubElement(suite, "system-err").text = "\n".join(notes)
    ET.indent(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode")


def _first_line(result: CaseResult) -> str:
    if result.undeclared:
        first = result.undeclared[0]
        legacy, migrated = (
            show(first.legacy, WIDTH, first.migrated),
            show(first.migrated, WIDTH, first.legacy),
        )
        return f"{where(first)}: legacy {legacy}, migrated {migrated}"
    return result.errors[0] if result.errors else "failed"


def markdown(
    run: RunResult, *, full: bool = False, defaults: dict[str, Request] | None = None
) -> str:
    """A summary for a pull request: verdict, undeclared and declared differences, stale entries."""
    verdict = "❌ legacy and migrated differ" if run.failed else "✅ no undeclared difference"
    if run.incomplete and not run.failed:
        verdict = "⚠️ incomplete: no undeclared difference in what ran"
    lines = [f"## Contract tests: {verdict}", "", summary(run), ""]
    lines += [f"- ⏱️ {left}" for left in run.left_out] + ([""] if run.left_out else [])
    lines += [f"- ⚠️ {note}" for note in run.notes] + ([""] if run.notes else [])
    lines += [f"- ❌ {problem}" for problem in problems(run)] + ([""] if problems(run) else [])
    width = None if full else WIDTH
    failing = [d for c in run.cases for d in c.undeclared]
    if failing:
        lines += ["### Undeclared differences", "", "| case | where | legacy | migrated |"]
        lines.append("|---|---|---|---|")
        lines += [
            f"| `{d.case}` | `{where(d)}` | `{_cell(show(d.legacy, width, d.migrated))}` |"
            f" `{_cell(show(d.migrated, width, d.legacy))}` |"
            for d in failing
        ]
        lines.append("")
        for found in failing:
            diff = body_diff(found, full=full)
            if diff:
                lines += [
                    f"`{found.case}` `{where(found)}`:",
                    "",
                    "```diff",
                    *diff[1:-1],
                    "```",
                    "",
                ]
    errors = [(c.case.name, e) for c in run.cases for e in (*c.errors, *c.raised)]
    if errors:
        lines += ["### Errors", ""] + [f"- `{name}`: {error}" for name, error in errors] + [""]
    for fuzzed in (f for f in run.fuzz if f.failed):
        report = fuzz_failure(fuzzed, (defaults or {}).get(fuzzed.endpoint), full=full)
        lines += [f"### Fuzzing `{fuzzed.endpoint}`", "", "```", report, "```", ""]
    used = declarations(run)
    if used:
        lines += ["### Declared differences (in the ledger)", "", "| entry | cases | why |"]
        lines.append("|---|---|---|")
        lines += [f"| `{e.describe()}` | {', '.join(cases)} | {e.why} |" for e, cases in used]
        lines.append("")
    if run.stale:
        lines += ["### Stale ledger entries (no longer differ: remove them)", ""]
        lines += [f"- line {e.line}: {e.describe()}: {e.why}" for e in run.stale] + [""]
    if run.fuzz:
        lines += ["### Fuzzing", "", "| endpoint | requests | seed | result |", "|---|---|---|---|"]
        lines += [
            f"| `{f.endpoint}` | {f.examples} | {f.seed} |"
            f" {'❌' if f.failed else '⏱️ cut short' if f.cut_short else '✅'} |"
            for f in run.fuzz
        ]
    return "\n".join(lines).rstrip() + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("`", "'")
