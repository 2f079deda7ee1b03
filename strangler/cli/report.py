"""`strangler status` and `strangler report`: how far the migration is (strangler.report),
from the flag store and the endpoints published in it; neither app is imported."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from strangler.cli.common import config_option, local, print_table, store_option

if TYPE_CHECKING:
    from strangler.report.progress import Progress


def _progress(config: Path | None, store: str | None) -> Progress:
    return local(config, store).progress()


@click.command()
@config_option
@store_option
def status(config: Path | None, store: str | None) -> None:
    """Every endpoint: ported or not, routing, traffic on migrated, contract cases, shadow."""
    from strangler.report import render

    progress = _progress(config, store)
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
    from strangler.report import render

    progress = _progress(config, store)
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
