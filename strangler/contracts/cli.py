"""`strangler contract run`: replays the corpus on both sides, fuzzes, reports, exits non-zero.

Exit status: 0 when no undeclared difference was found, 1 when one was (or a stale ledger entry
with --strict-ledger), 2 when the run could not start (settings, corpus, ledger, a side), 3 when
no undeclared difference was found but a time budget (--max-time, --max-endpoint-time) left
something out: the run is incomplete, not clean.

Progress goes to stderr as the run goes: a bar in a terminal, plain lines in CI or a log.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import click

from strangler.comparison.cases import Request
from strangler.comparison.corpus import CorpusFile, corpus_files, load_corpus
from strangler.comparison.ledger import load_ledger
from strangler.comparison.results import RunResult
from strangler.comparison.saved import ad_hoc, save_results
from strangler.contracts.budget import Budget
from strangler.contracts.progress import Live, live_progress
from strangler.errors import ConfigError, StranglerError
from strangler.settings import TOKEN_ENV, Settings, load_settings

if TYPE_CHECKING:  # the runner's modules load Hypothesis and both web stacks: seconds, imported
    # once the first progress line is out
    from strangler.contracts.sides import ContractSession
    from strangler.contracts.targets import Via


@click.group()
def contract() -> None:
    """Contract tests: prove the migrated app answers as the legacy one does."""


@contract.command("run")
@click.option("--legacy", help="The Flask (WSGI) app as MODULE:ATTR (overrides the settings).")
@click.option("--migrated", help="The FastAPI (ASGI) app as MODULE:ATTR (overrides the settings).")
@click.option(
    "--url",
    help="A running gateway to test through its force header (token: $STRANGLER_ADMIN_TOKEN)."
    " Each play starts with its POST /contract/reset where it allows one (contract_reset_live);"
    " elsewhere stateful cases are skipped, and the report says so.",
)
@click.option(
    "--via",
    type=click.Choice(["force", "flags"]),
    default="force",
    show_default=True,
    help="How each side gets its backend: the force header, or the flag table (the legacy side"
    " with every endpoint on legacy, the migrated side with every endpoint flipped), as"
    " production routes. In process only.",
)
@click.option(
    "--corpus",
    type=click.Path(path_type=Path),
    help="Corpus folder (default: the settings' contracts, else contract_tests/).",
)
@click.option(
    "--ledger",
    type=click.Path(path_type=Path),
    help="Ledger file (default: the settings' ledger, else ledger.yaml in the corpus folder).",
)
@click.option("--reset", help="MODULE:ATTR called before each scenario on each side.")
@click.option(
    "--force-reset",
    is_flag=True,
    help="Run the reset hook even while a gateway reads the same flag store (it likely serves"
    " from the database the hook wipes; refused without this).",
)
@click.option(
    "-k", "--select", help="Run only cases whose name matches (`*` wildcard); no fuzzing."
)
@click.option("--fuzz/--no-fuzz", default=True, show_default=True, help="Fuzz each endpoint.")
@click.option("--examples", type=click.IntRange(min=1), help="Requests per fuzzed endpoint.")
@click.option("--seed", type=int, help="Fuzzing seed (default: fuzz_seed, 0).")
@click.option(
    "--max-time",
    type=click.FloatRange(min=0, min_open=True),
    help="End the run after SECONDS (a case in flight is left); what it did not run is listed,"
    " and the run exits 3 (incomplete) unless something failed.",
)
@click.option(
    "--max-endpoint-time",
    type=click.FloatRange(min=0, min_open=True),
    help="Stop fuzzing an endpoint after SECONDS and go on to the next; exits 3 likewise.",
)
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path), help="Write JUnit XML.")
@click.option(
    "--markdown", type=click.Path(dir_okay=False, path_type=Path), help="Write a Markdown summary."
)
@click.option("--strict-ledger", is_flag=True, help="Fail on stale ledger entries too.")
@click.option("--full", is_flag=True, help="Show every difference and value whole, uncut.")
@click.option(
    "--app-logs",
    is_flag=True,
    help="Show the apps' own logs and RuntimeWarnings (e.g. tracebacks of expected 500s).",
)
@click.option(
    "--config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="strangler.toml or pyproject.toml to read (default: found upwards from here).",
)
def run(
    legacy: str | None,
    migrated: str | None,
    url: str | None,
    via: Via,
    corpus: Path | None,
    ledger: Path | None,
    reset: str | None,
    force_reset: bool,
    select: str | None,
    fuzz: bool,
    examples: int | None,
    seed: int | None,
    max_time: float | None,
    max_endpoint_time: float | None,
    junit: Path | None,
    markdown: Path | None,
    strict_ledger: bool,
    full: bool,
    app_logs: bool,
    config: Path | None,
) -> None:
    """Replay the corpus on legacy and migrated, fuzz each endpoint, and report differences."""
    budget = Budget(max_time, max_endpoint_time)  # from now: opening the sides counts too
    watch = live_progress(sys.stderr, budget=_budget_text(budget))
    watch.opening(url or f"in process, via {via}")  # within the first second: see TYPE_CHECKING
    from strangler.assembly import comparison_rules
    from strangler.contracts import formats
    from strangler.contracts.sides import ContractSession

    files: list[CorpusFile] = []
    try:
        settings = _settings(config, legacy, migrated, live=bool(url))
        folder = corpus or Path(settings.path(settings.contracts))
        ledger_path = ledger or Path(
            settings.path(settings.ledger) if settings.ledger else folder / "ledger.yaml"
        )
        the_ledger = load_ledger(ledger_path)
        files = load_corpus(corpus_files(folder, ledger_path), comparison_rules(settings))
        if url and via == "flags":
            raise ConfigError(
                "--via flags rewrites the flag table, which a live gateway's operators own;"
                " use it in process (without --url)"
            )
        if url:
            session = ContractSession.live(
                url,
                os.environ.get(TOKEN_ENV),
                the_ledger,
                mark=settings.backend_header,
                admin_prefix=settings.admin_prefix,
            )
        else:
            session = ContractSession.in_process(
                settings, the_ledger, reset=reset, via=via, force_reset=force_reset
            )
        with warnings.catch_warnings():
            if not app_logs:  # the apps' logs and warnings (tracebacks of error cases, numpy's
                # NaN warnings, a dev secret's warning on every token) would bury the report
                logging.disable(logging.CRITICAL)
                warnings.simplefilter("ignore")
            try:
                with watch, session:
                    result = _run(
                        session, files, settings, fuzz, examples, seed, select, watch, budget
                    )
            finally:
                logging.disable(logging.NOTSET)
        if via == "flags":  # the flag table routes; the ledger speaks of backends
            result.stale, result.stale_judged = [], False
        configured = Path(settings.path(settings.contracts))
        apps = bool(legacy or migrated)
        result.adhoc = ad_hoc(
            select=select, corpus=corpus, configured=configured, fuzz=fuzz, apps=apps
        )
        if result.incomplete:  # what a budget left out is not proven: not the canonical run
            result.adhoc = ", ".join(filter(None, [result.adhoc, "cut by its time budget"]))
        if result.adhoc:  # a part of the corpus cannot tell which entries are stale
            result.stale, result.stale_judged = [], False
    except StranglerError as exc:
        click.secho(f"error: {exc}", fg="red", err=True)
        # CI still gets its reports: a run that could not start is a failed run.
        _write(RunResult(stopped=f"the run could not start: {exc}"), junit, markdown, full)
        sys.exit(2)
    defaults = {f.endpoint: f.defaults for f in files if f.endpoint}
    formats.terminal(result, defaults=defaults, full=full)
    _write(result, junit, markdown, full, defaults)
    try:  # the canonical run's for `strangler status`, `report` and the dashboard; else aside
        saved = save_results(result, settings.contract_results_path)
    except OSError as exc:
        click.secho(f"warning: results not saved: {exc}", fg="yellow", err=True)
    else:
        if result.adhoc:
            click.echo(
                f"an ad-hoc run ({result.adhoc}): saved as {saved.name}; the canonical result"
                " (the whole corpus, fuzzed), which the reports read, is unchanged"
            )
    if result.failed or (strict_ledger and result.stale):
        sys.exit(1)
    sys.exit(3 if result.incomplete else 0)


def _budget_text(budget: Budget) -> str:
    """The budget as the plan line says it."""
    parts = [f"{budget.max_time:g}s in all"] if budget.max_time else []
    if budget.max_endpoint_time:
        parts.append(f"{budget.max_endpoint_time:g}s per fuzzed endpoint")
    return f"; time budget {', '.join(parts)}" if parts else ""


def _write(
    result: RunResult,
    junit: Path | None,
    markdown: Path | None,
    full: bool,
    defaults: dict[str, Request] | None = None,
) -> None:
    """Writes the JUnit and Markdown reports asked for."""
    from strangler.contracts import formats

    for path, render in ((junit, formats.junit), (markdown, formats.markdown)):
        if path is None:
            continue
        try:
            path.write_text(render(result, full=full, defaults=defaults), encoding="utf-8")
        except OSError as exc:
            click.secho(f"error: cannot write {path}: {exc.strerror}", fg="red", err=True)


def _settings(
    config: Path | None, legacy: str | None, migrated: str | None, *, live: bool
) -> Settings:
    try:
        return load_settings(config, legacy=legacy, migrated=migrated)
    except ConfigError:
        if not live:
            raise
        # A live gateway imports its own apps: the names are not needed here.
        return load_settings(config, legacy=legacy or "-", migrated=migrated or "-")


def _run(
    session: ContractSession,
    files: list[CorpusFile],
    settings: Settings,
    fuzz: bool,
    examples: int | None,
    seed: int | None,
    select: str | None,
    watch: Live,
    budget: Budget,
) -> RunResult:
    from strangler.contracts.suite import run_suite

    return run_suite(
        session,
        files,
        fuzz=fuzz,
        examples=examples or settings.fuzz_examples,
        examples_override=examples is not None,
        seed=settings.fuzz_seed if seed is None else seed,
        select=select,
        watch=watch,
        budget=budget,
    )
