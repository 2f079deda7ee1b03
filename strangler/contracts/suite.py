"""A whole contract run: every selected case, then fuzzing, then the ledger's stale entries."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from strangler.comparison.cases import Case
from strangler.comparison.corpus import CorpusFile
from strangler.comparison.ledger import wildcard
from strangler.comparison.results import CaseResult, FuzzResult, RunResult
from strangler.contracts.errors import SideUnreachable, TargetError
from strangler.contracts.fuzz import fuzz_endpoint, operations
from strangler.contracts.sides import ContractSession

Progress = Callable[[str], None]


def run_suite(
    session: ContractSession,
    files: Sequence[CorpusFile],
    *,
    fuzz: bool = True,
    examples: int = 300,
    examples_override: bool = False,
    seed: int = 0,
    select: str | None = None,
    progress: Progress = lambda _: None,
) -> RunResult:
    """Runs the cases whose names match `select` (a `*` wildcard), then fuzzes each endpoint.

    `examples` is the default per endpoint; a file's `fuzz: {examples: N}` takes precedence
    unless `examples_override` (an explicit --examples).
    `progress` is called with each case's name (or `fuzz METHOD /path`) as it completes.
    A case that cannot run (no answer in time, a bug) is a failed case, and the run goes on; a
    side that cannot be reached at all stops the run, which says so. Either way the result holds
    everything done until then, so the reports can always be written.
    """
    started = time.perf_counter()
    run = RunResult(selected=select)
    if (why := session.not_fresh()) is not None:
        stateful = [c.name for f in files for c in f.cases if c.stateful]
        which = f" ({', '.join(stateful)})" if stateful else ""
        run.notes.append(
            f"{why}; cases that need fresh state{which} may differ for that reason alone"
        )
    pattern = wildcard(select) if select else None
    chosen = [c for f in files for c in f.cases if pattern is None or pattern.fullmatch(c.name)]
    try:
        for case in chosen:
            run.cases.append(_run_case(session, case, seed))
            progress(case.name)
        if fuzz and pattern is None:
            document = session.openapi()
            fuzzed = set()
            for file in files:
                if file.endpoint is None or not file.fuzz.enabled or file.endpoint in fuzzed:
                    continue
                fuzzed.add(file.endpoint)
                count = examples if examples_override else file.fuzz.examples or examples
                run.fuzz.append(fuzz_file(session, file, document, examples=count, seed=seed))
                progress(f"fuzz {file.endpoint}")
            run.not_fuzzed = [e for e in operations(document) if e not in fuzzed]
    except SideUnreachable as exc:
        run.stopped = str(exc)
        done = len(run.cases)
        run.cases += [CaseResult(c, skipped="the run stopped before it") for c in chosen[done:]]
    # Only a whole run can tell that an entry no longer matches anything.
    run.stale_judged = pattern is None and fuzz and run.stopped is None
    run.stale = session.ledger.stale() if run.stale_judged else []
    run.seconds = time.perf_counter() - started
    return run


def _run_case(session: ContractSession, case: Case, seed: int) -> CaseResult:
    try:
        return session.run_case(case, seed=seed)
    except SideUnreachable:
        raise
    except Exception as exc:  # a stuck handler, a bug: this case failed, the run goes on
        return CaseResult(case, errors=[f"the case could not run: {type(exc).__name__}: {exc}"])
    # (its requests count as skipped: compared is 0)


def fuzz_file(
    session: ContractSession, file: CorpusFile, document: object, *, examples: int, seed: int
) -> FuzzResult:
    """Fuzzes one file's endpoint; a side that stops answering is reported, not raised."""
    try:
        return fuzz_endpoint(
            file,
            document if isinstance(document, dict) else None,
            lambda case, primed=None: session.run_case(case, primed=primed),
            examples=examples,
            seed=seed,
            prime=session.prime,
        )
    except SideUnreachable:
        raise
    except TargetError as exc:
        return FuzzResult(file.endpoint or "?", seed=seed, error=str(exc))
