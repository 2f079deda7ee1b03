"""A whole contract run: every selected case, then fuzzing, then the ledger's stale entries."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from strangler.contracts.corpus import CorpusFile
from strangler.contracts.errors import TargetError
from strangler.contracts.fuzz import fuzz_endpoint, operations
from strangler.contracts.ledger import wildcard
from strangler.contracts.results import FuzzResult, RunResult
from strangler.contracts.session import ContractSession

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
    """
    started = time.perf_counter()
    run = RunResult()
    pattern = wildcard(select) if select else None
    for file in files:
        for case in file.cases:
            if pattern is None or pattern.fullmatch(case.name):
                run.cases.append(session.run_case(case))
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
    run.stale = session.ledger.stale()
    run.seconds = time.perf_counter() - started
    return run


def fuzz_file(
    session: ContractSession, file: CorpusFile, document: object, *, examples: int, seed: int
) -> FuzzResult:
    """Fuzzes one file's endpoint; an unreachable side is reported, not raised."""
    try:
        return fuzz_endpoint(
            file,
            document if isinstance(document, dict) else None,
            session.run_case,
            examples=examples,
            seed=seed,
        )
    except TargetError as exc:
        return FuzzResult(file.endpoint or "?", seed=seed, error=str(exc))
