"""`strangler endpoints` and `strangler flags …`: the inventory, and reading and changing flags.

They act on the local flag store named in the settings, or on a running gateway with `--url`
(or STRANGLER_URL), authenticated by STRANGLER_ADMIN_TOKEN.
"""

from __future__ import annotations

from pathlib import Path

import click

from strangler.cli.common import (
    actor_option,
    config_option,
    describe,
    fail,
    operations,
    print_change,
    print_table,
    reason_option,
    url_option,
)
from strangler.cli.operations import LocalOperations
from strangler.errors import ConfigError, StranglerError
from strangler.flags.flagfile import import_flags, write_flag_file
from strangler.settings import load_settings


@click.command()
@config_option
@url_option
def endpoints(config: Path | None, url: str | None) -> None:
    """List every endpoint of both apps, who serves it and where its requests go."""
    try:
        rows = operations(config, url).endpoints()
    except StranglerError as exc:
        fail(exc)
    print_table(rows, ["endpoint", "served_by", "routing"])


@click.group()
def flags() -> None:
    """Read and change the routing flags."""


@flags.command("list")
@config_option
@url_option
def flags_list(config: Path | None, url: str | None) -> None:
    """Show the flag table: the flags that are set, and its version."""
    try:
        table = operations(config, url).flags()
    except StranglerError as exc:
        fail(exc)
    click.echo(f"flag table version {table['version']}")
    rows = [{"endpoint": key, "flag": describe(flag)} for key, flag in table["flags"].items()]
    if rows:
        print_table(rows, ["endpoint", "flag"])
    else:
        click.echo("no flags set: every endpoint both apps serve goes to legacy")


@flags.command("set")
@click.argument("endpoint")
@click.argument("mode", type=click.Choice(["legacy", "migrated", "canary"]))
@click.argument("percentage", type=float, required=False)
@reason_option
@actor_option
@config_option
@url_option
def flags_set(
    endpoint: str,
    mode: str,
    percentage: float | None,
    reason: str,
    actor: str,
    config: Path | None,
    url: str | None,
) -> None:
    """Route ENDPOINT ('METHOD /path') to MODE (canary takes a PERCENTAGE)."""
    try:
        print_change(
            operations(config, url).set(endpoint, mode, percentage, actor=actor, reason=reason)
        )
    except StranglerError as exc:
        fail(exc)


@flags.command("canary")
@click.argument("endpoint")
@click.argument("percentage", type=float)
@reason_option
@actor_option
@config_option
@url_option
def flags_canary(
    endpoint: str, percentage: float, reason: str, actor: str, config: Path | None, url: str | None
) -> None:
    """Send PERCENTAGE of ENDPOINT's callers (sticky per caller) to migrated."""
    try:
        print_change(
            operations(config, url).set(endpoint, "canary", percentage, actor=actor, reason=reason)
        )
    except StranglerError as exc:
        fail(exc)


@flags.command("history")
@click.argument("endpoint", required=False)
@click.option("--limit", default=20, show_default=True, type=int)
@config_option
@url_option
def flags_history(endpoint: str | None, limit: int, config: Path | None, url: str | None) -> None:
    """Show the audit trail, newest first (of one ENDPOINT, or all)."""
    try:
        entries = operations(config, url).history(endpoint, limit)
    except StranglerError as exc:
        fail(exc)
    for entry in entries:
        click.echo(f"{entry['at']}  ", nl=False)
        print_change(entry)


@flags.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@actor_option
@config_option
def flags_import(path: Path, actor: str, config: Path | None) -> None:
    """Load a flags file into the local store (only the flags that differ)."""
    try:
        changes = import_flags(LocalOperations(load_settings(config)).service, path, actor=actor)
    except StranglerError as exc:
        fail(exc)
    for entry in changes:
        print_change(entry.to_dict())
    click.echo(f"{len(changes)} flag(s) changed")


@flags.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@config_option
def flags_export(path: Path, config: Path | None) -> None:
    """Write the local store's flags to a flags file (to commit it)."""
    try:
        store = LocalOperations(load_settings(config)).service.store
        write_flag_file(path, store.snapshot())
    except StranglerError as exc:
        fail(exc)
    except OSError as exc:
        fail(ConfigError(f"cannot write {path}: {exc.strerror}"))
    click.echo(f"wrote {path}")
