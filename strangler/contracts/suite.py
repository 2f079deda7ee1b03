"""A whole contract run: every selected case, then fuzzing, then the ledger's stale entries.

A Watcher hears of each case and fuzzed endpoint as the run goes (the CLI's live progress); a
Budget (`--max-time`, `--max-endpoint-time`) ends the run in time, and the run lists what it
left out (`RunResult.left_out`): such a run is incomplete, never clean.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from strangler.comparison.cases import Case
from strangler.comparison.corpus import CorpusFile
from strangler.comparison.ledger import wildcard
from strangler.comparison.results import CaseResult, FuzzResult, RunResult
from strangler.contracts.budget import Budget, OutOfTime
from strangler.contracts.errors import SideUnreachable, TargetError
from strangler.contracts.fuzz import fuzz_endpoint, operations
from strangler.contracts.runner import Primed
from strangler.contracts.sides import CALL_TIMEOUT, ContractSession


class Watcher(Protocol):
    """Hears of the run's work as it starts and ends (e.g. a progress line); must not raise."""

    def planned(self, cases: int, endpoints: int) -> None: ...
    def case_started(self, case: Case, index: int) -> None: ...
    def case_done(self, result: CaseResult, index: int) -> None: ...
    def fuzz_started(self, endpoint: str, examples: int, index: int) -> None: ...
    def example_done(self, endpoint: str, examples: int) -> None: ...
    def fuzz_done(self, result: FuzzResult, index: int) -> None: ...


class Unwatched:
    """A Watcher that hears nothing."""

    def planned(self, cases: int, endpoints: int) -> None:
        pass

    def case_started(self, case: Case, index: int) -> None:
        pass

    def case_done(self, result: CaseResult, index: int) -> None:
        pass

    def fuzz_started(self, endpoint: str, examples: int, index: int) -> None:
        pass

    def example_done(self, endpoint: str, examples: int) -> None:
        pass

    def fuzz_done(self, result: FuzzResult, index: int) -> None:
        pass


def run_suite(
    session: ContractSession,
    files: Sequence[CorpusFile],
    *,
    fuzz: bool = True,
    examples: int = 300,
    examples_override: bool = False,
    seed: int = 0,
    select: str | None = None,
    watch: Watcher | None = None,
    budget: Budget | None = None,
) -> RunResult:
    """Runs the cases whose names match `select` (a `*` wildcard), then fuzzes each endpoint.

    `examples` is the default per endpoint; a file's `fuzz: {examples: N}` takes precedence
    unless `examples_override` (an explicit --examples).
    `watch` hears of each case and endpoint as it starts and ends. `budget` ends the run in
    time: a case it cuts off and the cases after it are skipped, an endpoint it cuts off keeps
    what it found, and `left_out` lists all of them.
    A case that cannot run (no answer in time, a bug) is a failed case, and the run goes on; a
    side that cannot be reached at all stops the run, which says so. Either way the result holds
    everything done until then, so the reports can always be written.
    """
    watch = watch or Unwatched()
    budget = budget or Budget()
    started = budget.clock()
    run = RunResult(selected=select)
    if (why := session.not_fresh()) is not None:
        stateful = [c.name for f in files for c in f.cases if c.stateful]
        which = f" ({', '.join(stateful)})" if stateful else ""
        run.notes.append(
            f"{why}; cases that need fresh state{which} may differ for that reason alone"
        )
    pattern = wildcard(select) if select else None
    chosen = [c for f in files for c in f.cases if pattern is None or pattern.fullmatch(c.name)]
    to_fuzz = _to_fuzz(files) if fuzz and pattern is None else []
    watch.planned(len(chosen), len(to_fuzz))
    try:
        for index, case in enumerate(chosen):
            if (why := budget.run_over()) is not None:
                run.cases += [
                    CaseResult(c, skipped=f"not run: {why} ran out") for c in chosen[index:]
                ]
                break
            watch.case_started(case, index)
            run.cases.append(_run_case(session, case, seed, budget))
            watch.case_done(run.cases[-1], index)
        if fuzz and pattern is None:
            document = session.openapi()
            for index, file in enumerate(to_fuzz):
                assert file.endpoint is not None
                if (why := budget.run_over()) is not None:
                    run.left_out.append(
                        f"{len(to_fuzz) - index} endpoints not fuzzed ({why}): "
                        + ", ".join(str(f.endpoint) for f in to_fuzz[index:])
                    )
                    break
                count = examples if examples_override else file.fuzz.examples or examples
                watch.fuzz_started(file.endpoint, count, index)
                fuzzed = fuzz_file(
                    session, file, document, examples=count, seed=seed, budget=budget, watch=watch
                )
                run.fuzz.append(fuzzed)
                watch.fuzz_done(fuzzed, index)
            run.not_fuzzed = _not_fuzzed(operations(document), files, to_fuzz)
    except SideUnreachable as exc:
        run.stopped = str(exc)
        done = len(run.cases)
        run.cases += [CaseResult(c, skipped="the run stopped before it") for c in chosen[done:]]
    run.left_out[:0] = _cases_left_out(run.cases, budget)
    run.left_out += [
        f"fuzzing {f.endpoint} cut short after {f.examples} of {f.wanted} requests ({f.cut_short})"
        for f in run.fuzz
        if f.cut_short
    ]
    # Only a whole run can tell that an entry no longer matches anything.
    run.stale_judged = pattern is None and fuzz and run.stopped is None and not run.left_out
    run.stale = session.ledger.stale() if run.stale_judged else []
    # From the budget's start (the command's: opening the apps counts), as --max-time and the
    # progress clock count, so the summary agrees with both.
    run.seconds = budget.elapsed()
    run.opening = started - budget.started
    return run


def _to_fuzz(files: Sequence[CorpusFile]) -> list[CorpusFile]:
    """The files whose endpoint is fuzzed: for each endpoint, the first file naming it that
    does not turn fuzzing off."""
    chosen: dict[str, CorpusFile] = {}
    for file in files:
        if file.endpoint is not None and file.fuzz.enabled and file.endpoint not in chosen:
            chosen[file.endpoint] = file
    return list(chosen.values())


def _not_fuzzed(
    endpoints: Sequence[str], files: Sequence[CorpusFile], fuzzed: Sequence[CorpusFile]
) -> dict[str, str]:
    """The endpoints a run did not fuzz, each with why: a file turned it off, or none names it."""
    chosen = {f.endpoint for f in fuzzed}
    off = {f.endpoint: f.path for f in files[::-1] if f.endpoint and not f.fuzz.enabled}
    return {
        e: f"fuzzing turned off by `fuzz:` in {off[e]}"
        if e in off
        else f"no corpus file says `endpoint: {e}`"
        for e in endpoints
        if e not in chosen
    }


def _cases_left_out(results: Sequence[CaseResult], budget: Budget) -> list[str]:
    """What a budget left out of the cases, as the reports list it."""
    left = []
    for word, prefix in (("cut short", "cut short: "), ("not run", "not run: ")):
        names = [r.case.name for r in results if (r.skipped or "").startswith(prefix)]
        if names:
            case_s = "case" if len(names) == 1 else "cases"
            left.append(f"{len(names)} {case_s} {word} ({budget.run_why}): {', '.join(names)}")
    return left


def _run_case(session: ContractSession, case: Case, seed: int, budget: Budget) -> CaseResult:
    started = budget.clock()
    try:
        return session.run_case(case, seed=seed, timeout=budget.call_timeout(CALL_TIMEOUT))
    except SideUnreachable:
        raise
    except TargetError as exc:
        if (why := budget.run_over()) is not None:  # the budget, not the case, set the limit
            skipped = f"cut short: {why} ran out while it ran"
            return CaseResult(case, skipped=skipped, seconds=budget.clock() - started)
        return CaseResult(case, errors=[f"the case could not run: {type(exc).__name__}: {exc}"])
    except Exception as exc:  # a stuck handler, a bug: this case failed, the run goes on
        return CaseResult(case, errors=[f"the case could not run: {type(exc).__name__}: {exc}"])
    # (its requests count as skipped: compared is 0)


def fuzz_file(
    session: ContractSession,
    file: CorpusFile,
    document: object,
    *,
    examples: int,
    seed: int,
    budget: Budget | None = None,
    watch: Watcher | None = None,
) -> FuzzResult:
    """Fuzzes one file's endpoint; a side that stops answering is reported, not raised; a
    budget that runs out stops the search (the result says so)."""
    assert file.endpoint is not None
    endpoint = file.endpoint
    budget = budget or Budget()
    watch = watch or Unwatched()
    done = 0

    def run_example(case: Case, primed: Primed | None = None, /) -> CaseResult:
        nonlocal done
        if (why := budget.over()) is not None:
            raise OutOfTime(why)
        try:
            timeout = budget.call_timeout(CALL_TIMEOUT)
            outcome = session.run_case(case, timeout=timeout, primed=primed)
        except TargetError:
            if (why := budget.over()) is not None:  # the budget set the limit
                raise OutOfTime(why) from None
            raise
        done += 1
        watch.example_done(endpoint, done)
        return outcome

    budget.start_endpoint()
    try:
        return fuzz_endpoint(
            file,
            document if isinstance(document, dict) else None,
            run_example,
            examples=examples,
            seed=seed,
            prime=lambda setup: session.prime(setup, timeout=budget.call_timeout(CALL_TIMEOUT)),
        )
    except SideUnreachable:
        raise
    except TargetError as exc:
        return FuzzResult(endpoint, seed=seed, error=str(exc), wanted=examples)
    finally:
        budget.stop_endpoint()
