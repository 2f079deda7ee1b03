"""`strangler status` and `strangler report`: how far the migration is (strangler.report)."""

from __future__ import annotations

from pathlib import Path

import click

from strangler.cli.common import config_option, fail, print_table, store_option
from strangler.cli.operations import LocalOperations
from strangler.errors import StranglerError
from strangler.report import render
from strangler.report.progress import Progress
from strangler.settings import load_settings


def _progress(config: Path | None, store: str | None) -> Progress:
    return LocalOperations(load_settings(config, flags=store)).progress()


@click.command()
@config_option
@store_option
def status(config: Path | None, store: str | None) -> None:
    """Every endpoint: ported or not, routing, traffic on migrated, contract cases, shadow."""
    try:
        progress = _progress(config, store)
    except StranglerError as exc:
        fail(exc)
    table = render.rows(progress)
    if table:
        print_table(table, list(table[0]))
    click.echo("")
    for line in render.overall(progress):
        click.echo(line)


@click.command()
@click.option("--html", type=click.Path(dir_okay=False, path_type=Path), help="write an HTML page")
@click.option("--markdown", type=click.Path(dir_okay=False, path_type=Path), help="write Markdown")
@config_option
@store_option
def report(
    html: Path | None, markdown: Path | None, config: Path | None, store: str | None
) -> None:
    """Write the progress report (HTML and/or Markdown; without either, Markdown to stdout)."""
    try:
        progress = _progress(config, store)
    except StranglerError as exc:
        fail(exc)
    if html is None and markdown is None:
        click.echo(render.markdown(progress), nl=False)
        return
    for path, text in (
        (html, render.html(progress) if html else ""),
        (markdown, render.markdown(progress) if markdown else ""),
    ):
        if path is not None:
            path.write_text(text, encoding="utf-8")
            click.echo(f"wrote {path}")
