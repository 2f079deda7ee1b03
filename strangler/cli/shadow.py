"""`strangler shadow …`: send a share of an endpoint's live requests to the other backend too,
and read what the comparison found (strangler.shadow)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from strangler.cli.common import (
    actor_option,
    config_option,
    describe,
    operations,
    print_change,
    print_table,
    printable,
    reason_option,
    store_option,
    url_option,
)
from strangler.errors import StranglerError
from strangler.settings import load_settings

if TYPE_CHECKING:
    from strangler.flags.views import FlagView
    from strangler.shadow.replay import Corpus


@click.group()
def shadow() -> None:
    """Compare the other backend's answers on live traffic; clients never see them."""


@shadow.command("set")
@click.argument("endpoint")
@click.argument("percentage", type=float)
@click.option(
    "--side-effect-free",
    metavar="WHY",
    help="for a method that is not safe (POST...): why sending it twice harms nothing",
)
@reason_option
@actor_option
@config_option
@store_option
@url_option
def shadow_set(
    endpoint: str,
    percentage: float,
    side_effect_free: str | None,
    reason: str,
    actor: str,
    config: Path | None,
    store: str | None,
    url: str | None,
) -> None:
    """Also send PERCENTAGE of ENDPOINT's requests to the backend not serving them, and
    compare (0 stops it). Only GET, HEAD and OPTIONS unless --side-effect-free says why."""
    print_change(
        operations(config, url, store).shadow(
            endpoint, percentage, side_effect_free, actor=actor, reason=reason
        )
    )


@shadow.command("report")
@click.option("--full", is_flag=True, help="also print the last mismatches, both answers each")
@config_option
@store_option
@url_option
def shadow_report(full: bool, config: Path | None, store: str | None, url: str | None) -> None:
    """What shadowing found, in every gateway worker on this flag store (or behind --url)."""
    report = operations(config, url, store).shadow_report()
    if not report.get("enabled", True):
        click.echo("this gateway has no shadow tap")
    rows = []
    for entry in report.get("endpoints", []):
        rate = entry["mismatch_rate"]
        rows.append(
            {
                "endpoint": entry["endpoint"],
                "shadowed": entry["shadowed"],
                "compared": entry["compared"],
                "mismatched": entry["mismatched"],
                "rate": "-" if rate is None else f"{rate:.2%}",
                "raced": entry.get("raced", 0),  # differed, but the world moved: proves nothing
                "where": ", ".join(entry["mismatched_where"]) or "-",
                "noise": ", ".join(entry["noise"]) or "-",
                "dropped": entry["dropped"],
                "timed_out": entry["timed_out"],
                "failed": entry["failed"],
                "too_big": entry["too_big"],
            }
        )
    _print_shadowed(report.get("flags", {}), len(report.get("workers", [])))
    if not rows:
        click.echo("no request shadowed yet (workers publish what they find every 2 s)")
        return
    print_table(rows, list(rows[0]))
    for entry in report["endpoints"]:
        mark = entry.get("acknowledged")
        if mark:
            click.echo(
                printable(
                    f"{entry['endpoint']}: acknowledged by {mark['actor']} at {mark['at']}"
                    f" ({mark['reason']}); {entry.get('unacknowledged', 0)} mismatched since"
                )
            )
    if full:
        for entry in report["endpoints"]:
            for mismatch in entry["last_mismatches"]:
                click.echo(f"\n{entry['endpoint']} at {mismatch['at']}:")
                for difference in mismatch["differences"]:
                    click.echo(
                        f"  {difference['where']}: legacy {difference['legacy']},"
                        f" migrated {difference['migrated']}"
                    )


def _print_shadowed(flags: dict[str, FlagView], workers: int) -> None:
    """The report's first lines: the endpoints shadowed, each as `flags list` words its flag."""
    if not flags:
        click.echo(f"no endpoint is shadowed now; {workers} worker(s) reporting")
    else:
        click.echo(f"{len(flags)} endpoint(s) shadowed; {workers} worker(s) reporting")
    for endpoint, flag in sorted(flags.items()):
        free = flag.get("side_effect_free")
        said = f" (side-effect free: {free})" if free else ""
        click.echo(printable(f"  {endpoint}: {describe(flag)}{said}"))


@shadow.command("export")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--recorded", is_flag=True, help="also the live requests sampled that matched")
@click.option(
    "--corpus",
    type=click.Path(file_okay=False, path_type=Path),
    help="the corpus whose `before:` steps log the cases in (default: the settings' contracts)",
)
@config_option
@store_option
@url_option
def shadow_export(
    folder: Path,
    recorded: bool,
    corpus: Path | None,
    config: Path | None,
    store: str | None,
    url: str | None,
) -> None:
    """Write the last mismatches (and --recorded samples) as corpus files into FOLDER, each
    request once, with the corpus's login where their cases send `${token}`."""
    from strangler.shadow import replay  # YAML and the corpus: only for this command

    files = operations(config, url, store).shadow_export(recorded)
    for name in files:  # the remote answer is checked as it arrives; this keeps it so
        if Path(name).name != name or name in ("", ".", ".."):
            raise click.ClickException(f"{name!r} is not a file name in {folder}: nothing written")
    logins = _corpus(config, corpus, [folder / name for name in files])
    exported = [replay.complete(name, text, logins) for name, text in files.items()]
    for problem in logins.skipped if not all(made.ready for made in exported) else ():
        click.secho(f"warning: no login taken from {problem}", fg="yellow", err=True)
    folder.mkdir(parents=True, exist_ok=True)
    for made in exported:
        (folder / made.name).write_text(made.text, encoding="utf-8")
        said = f"wrote {folder / made.name}" + (f": {made.note}" if made.note else "")
        click.secho(said, fg=None if made.ready else "yellow")
    if not files:
        click.echo("no mismatches (nor samples) to write yet")


def _corpus(config: Path | None, given: Path | None, replaced: list[Path]) -> Corpus:
    """The corpus that lends its logins (`given`, else the settings'; none if unreadable), but
    for the files the export replaces."""
    from strangler.shadow.replay import Corpus

    ledger = None
    if given is None:
        try:
            settings = load_settings(config)
        except StranglerError:
            try:  # the apps need not be named to find the corpus (a gateway's --url)
                settings = load_settings(config, legacy="unnamed:app", migrated="unnamed:app")
            except StranglerError:
                return Corpus()
        given, ledger = settings.contracts_path, settings.ledger_path
    return Corpus.read(given, ledger, leave_out=replaced)


@shadow.command("ack")
@click.argument("endpoint")
@reason_option
@actor_option
@config_option
@store_option
@url_option
def shadow_ack(
    endpoint: str,
    reason: str,
    actor: str,
    config: Path | None,
    store: str | None,
    url: str | None,
) -> None:
    """Mark ENDPOINT's shadow findings as seen: they stay kept, and mismatches from now on are
    counted as new."""
    found = operations(config, url, store).shadow_ack(endpoint, actor=actor, reason=reason)
    mark = found["acknowledged"]
    click.echo(
        printable(
            f"{found['endpoint']}: {mark['mismatched']} mismatch(es) acknowledged by"
            f" {mark['actor']} at {mark['at']}"
        )
    )


@shadow.command("clear")
@click.argument("endpoint", required=False)
@reason_option
@actor_option
@config_option
@store_option
@url_option
def shadow_clear(
    endpoint: str | None,
    reason: str,
    actor: str,
    config: Path | None,
    store: str | None,
    url: str | None,
) -> None:
    """Forget the shadow findings kept for ENDPOINT (none given: for every endpoint); who
    cleared them and why are kept. Workers count afresh from now on."""
    found = operations(config, url, store).shadow_clear(endpoint, actor=actor, reason=reason)
    cleared = found["cleared"]
    if not cleared:
        click.echo("no shadow findings were kept")
    for key in cleared:
        click.echo(printable(f"{key}: findings cleared by {found['actor']} at {found['at']}"))
