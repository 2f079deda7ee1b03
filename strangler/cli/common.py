"""What the `strangler` commands share: options, the operations they act through, and output."""

from __future__ import annotations

import getpass
import os
import re
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path

import click

from strangler.cli.operations import LocalOperations, Operations
from strangler.errors import ConfigError, StranglerError
from strangler.flags.model import MAX_TEXT
from strangler.flags.service import FOLLOW_WAIT
from strangler.flags.views import ChangeResult, FlagView, HistoryEntry
from strangler.settings import TOKEN_ENV, Settings, load_settings


def default_actor() -> str:
    try:
        return f"{getpass.getuser()}@{socket.gethostname()}"
    except Exception:  # no user name in some containers
        return f"uid{os.getuid()}@{socket.gethostname()}"


config_option = click.option(
    "--config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="strangler.toml or pyproject.toml to read (default: found upwards from here).",
)
store_option = click.option(
    "--flags",
    "store",
    help="The flag store to act on (a SQLite file; default: the settings' `flags`).",
)
url_option = click.option(
    "--url", envvar="STRANGLER_URL", help="A running gateway to act on, e.g. http://127.0.0.1:8000"
)


def _audit_text(context: click.Context, parameter: click.Parameter, value: str) -> str:
    """A reason or actor fit for the audit trail, refused here before any store or gateway is
    asked (the store and the admin API refuse it too)."""
    if value is not None and len(value) > MAX_TEXT:
        raise click.BadParameter(f"{len(value):,} characters long; keep it to {MAX_TEXT:,}")
    return value


reason_option = click.option(
    "--reason", "-m", required=True, callback=_audit_text, help="Why (kept in the audit trail)."
)
actor_option = click.option(
    "--actor", default=default_actor, callback=_audit_text, help="Who (default: user@host)."
)


def operations(config: Path | None, url: str | None, store: str | None = None) -> Operations:
    """The local flag store (`store`, else the settings'), or the running gateway at `url`."""
    if url:
        if store:
            raise ConfigError("give --flags or --url, not both: --url acts on the gateway's store")
        from strangler.cli.remote import RemoteOperations  # httpx: only for --url

        try:  # the gateway's prefix, if this folder configures it
            prefix = load_settings(config).admin_prefix
        except StranglerError:
            prefix = Settings.admin_prefix
        return RemoteOperations(url, os.environ.get(TOKEN_ENV), prefix)
    return local(config, store)


def local(config: Path | None, store: str | None, *, create: bool = False) -> LocalOperations:
    """The flag store `store` (else the settings'), checked against the endpoints published
    in it."""
    return LocalOperations(load_settings(config, flags=store), create=create)


# C0 and C1 control characters (ESC, CSI, BEL, CR, newline...) and the bidirectional
# overrides that reorder what a terminal shows.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: object) -> str:
    """`text` with its control characters escaped (ESC as `\\x1b`): what the CLI prints of a
    store or a gateway was written by whoever could write there, and a terminal obeys the escape
    sequences it is given (an actor could rewrite the lines above it, or the title bar: #22)."""
    return _CONTROLS.sub(_escaped, str(text))


def _escaped(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def print_table(rows: Sequence[Mapping[str, object]], columns: list[str]) -> None:
    cells = [{c: printable(row.get(c, "")) for c in columns} for row in rows]
    widths = {c: max([len(c), *(len(r[c]) for r in cells)]) for c in columns}
    click.secho("  ".join(c.upper().ljust(widths[c]) for c in columns).rstrip(), bold=True)
    for row in cells:
        click.echo("  ".join(row[c].ljust(widths[c]) for c in columns).rstrip())


def describe(flag: FlagView | None) -> str:
    """A flag as operators read it: `legacy`, `canary 25%`, `off`, `migrated, shadow 10%`..."""
    if flag is None:
        return "(unset)"
    text = f"canary {flag['percentage']:g}%" if flag["mode"] == "canary" else str(flag["mode"])
    if flag.get("segments"):
        text += ", segments " + " ".join(flag.get("segments", []))
    if flag.get("shadow"):
        text += f", shadow {flag['shadow']:g}%"
    return text


def print_change(result: ChangeResult) -> None:
    """A change just asked for: made (and who will follow it), or already so."""
    if result["changed"] is False:
        endpoint, flag = result["endpoint"], describe(result["flag"])
        click.echo(printable(f"{endpoint}: already {flag}; nothing changed"))
        return
    print_entry(result)
    print_readers(result["readers"], result.get("lagging"))


def print_entry(entry: HistoryEntry) -> None:
    """One line of the audit trail."""
    line = (
        f"{entry['endpoint']}: {describe(entry['before'])} -> {describe(entry['after'])}"
        f"  (version {entry['version']}, by {entry['actor']}: {entry['reason']})"
    )
    click.echo(printable(line))


def print_readers(readers: int, lagging: int | None = None) -> None:
    """Who took a change: `readers` workers route by it now, `lagging` heard from lately did
    not take it. Without `lagging` (a rollout started; a gateway older than #22), `readers`
    counts the workers heard from lately, and nothing is promised of them."""
    if readers and lagging is None:
        click.echo(f"{readers} gateway worker(s) read this store in the last 10 s")
    elif readers:
        click.echo(f"taken by {readers} gateway worker(s): they route by it now")
    if lagging:
        click.secho(
            f"WARNING: {lagging} gateway worker(s) heard from in the last 10 s did not take this"
            f" change within {FOLLOW_WAIT:g} s: stopped, or stuck? (each one's"
            " /_strangler/health says)",
            fg="yellow",
            err=True,
        )
    if not readers and not lagging:
        click.secho(
            "WARNING: no gateway worker has read this store in the last 10 s. Is the gateway"
            " running, and on this store? (`strangler serve --flags` and this command's"
            " --flags must name the same file)",
            fg="yellow",
            err=True,
        )
