"""`strangler scaffold ENDPOINT...`: draft the FastAPI port of legacy endpoints.

The one command that imports the legacy app (it reads the url_map and plays requests on it),
so it lives here, loaded only when run (strangler/cli/main.py).
"""

from __future__ import annotations

from pathlib import Path

import click

from strangler.errors import ConfigError
from strangler.scaffold import capture, corpus, draft, tidy
from strangler.scaffold.routes import legacy_routes, select
from strangler.settings import import_string, load_settings


@click.command()
@click.argument("endpoints", nargs=-1, required=True)
@click.option(
    "--config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="strangler.toml or pyproject.toml to read (default: found upwards from here).",
)
@click.option("--legacy", help="The Flask app as MODULE:ATTR (default: the settings').")
@click.option(
    "--recorded",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Exported requests (`strangler shadow export` files, or their folder); repeatable.",
)
@click.option(
    "--example",
    multiple=True,
    help="A request to play: 'GET /post/1?x=2' or 'POST /items {\"a\": 1}'; repeatable.",
)
@click.option(
    "--capture",
    is_flag=True,
    help="Also make up one request for each endpoint no source has (example path values).",
)
@click.option("--corpus/--no-corpus", default=True, help="Play the contract corpus's requests too.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("scaffold"),
    show_default=True,
    help="Folder for the draft module and its corpus files.",
)
@click.option("--module", default="port", show_default=True, help="The draft module's name.")
@click.option("--force", is_flag=True, help="Overwrite files already there.")
def scaffold(
    endpoints: tuple[str, ...],
    config: Path | None,
    legacy: str | None,
    recorded: tuple[Path, ...],
    example: tuple[str, ...],
    capture: bool,
    corpus: bool,
    out: Path,
    module: str,
    force: bool,
) -> None:
    """Draft the FastAPI port of ENDPOINTS ('GET /post/{id}', a path for all its methods, or
    'all'): routes typed from the url_map, models and documented answers from what legacy
    answers to the recorded, corpus, example (and with --capture, made-up) requests, handlers
    answering 501, and a corpus file per endpoint."""
    _run(endpoints, config, legacy, recorded, example, capture, corpus, out, module, force)


def _run(
    endpoints: tuple[str, ...],
    config: Path | None,
    legacy: str | None,
    recorded: tuple[Path, ...],
    examples: tuple[str, ...],
    synthesize: bool,
    use_corpus: bool,
    out: Path,
    module: str,
    force: bool,
) -> None:
    settings = load_settings(config, **({"legacy": legacy} if legacy else {}))
    if not module.isidentifier():
        raise ConfigError(f"--module {module!r} is not a Python module name; e.g. --module port")
    app = import_string(settings.legacy, settings.root)
    routes = list(select(legacy_routes(app), endpoints))
    if not routes:
        raise ConfigError(
            f"{', '.join(endpoints)}: no such endpoint in {settings.legacy}; `strangler"
            " endpoints` lists them (or say 'all')"
        )
    cases = capture.recorded_cases(recorded) + [capture.example_case(e) for e in examples]
    if use_corpus:
        root = Path(settings.root)
        ledger = root / settings.ledger if settings.ledger else None
        cases += capture.corpus_cases(root / settings.contracts, ledger)
    captured = capture.capture(settings, routes, cases, synthesize=synthesize)
    for problem in captured.problems:
        click.secho(f"warning: {problem}", fg="yellow", err=True)
    session = bool(getattr(app, "secret_key", None))
    source = draft.module_source(settings.legacy, routes, captured.samples, session=session)
    written = {Path(f"{module}.py"): source}
    for name, text in corpus.files([r.key for r in routes], captured).items():
        written[Path("corpus") / name] = text
    clashes = [str(out / p) for p in written if (out / p).exists()]
    if clashes and not force:
        raise ConfigError(f"{', '.join(clashes)} already there: --force overwrites")
    for path, text in written.items():
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        (out / path).write_text(text, encoding="utf-8")
    formatted = tidy.tidy(out / f"{module}.py", Path(settings.root))
    for route in routes:
        seen = captured.samples.get(route.key, [])
        statuses = sorted({s.answer.status for s in seen})
        answered = ", ".join(map(str, statuses)) if statuses else "no sample (try --capture)"
        click.echo(f"{route.key}: {len(seen)} sample(s), answered {answered}")
    click.echo(f"wrote {out / f'{module}.py'} and {len(written) - 1} corpus file(s) in {out}")
    click.echo(formatted)
