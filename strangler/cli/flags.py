"""`strangler endpoints` and `strangler flags …`: the inventory, and reading and changing flags.

They act on the local flag store named in the settings, or on a running gateway with `--url`
(or STRANGLER_URL), authenticated by STRANGLER_ADMIN_TOKEN.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from strangler.assembly import create_store
from strangler.cli.common import (
    actor_option,
    config_option,
    describe,
    fail,
    operations,
    print_change,
    print_table,
    reason_option,
    store_option,
    url_option,
)
from strangler.cli.operations import LocalOperations
from strangler.errors import ConfigError, StranglerError
from strangler.flags.backup import backup_store, restore_flags
from strangler.flags.errors import FlagStoreError
from strangler.flags.flagfile import import_flags, write_flag_file
from strangler.flags.store import open_store
from strangler.flags.transfer import is_store_file, load_store_file, write_store_file
from strangler.routing.inventory import discover
from strangler.routing.openapi import service_openapi
from strangler.settings import import_string, load_settings


@click.command()
@config_option
@store_option
@url_option
def endpoints(config: Path | None, store: str | None, url: str | None) -> None:
    """List every endpoint of both apps, who serves it and where its requests go."""
    try:
        rows = operations(config, url, store).endpoints()
    except StranglerError as exc:
        fail(exc)
    print_table(rows, ["endpoint", "served_by", "routing"])


@click.group()
def flags() -> None:
    """Read and change the routing flags."""


@flags.command("list")
@config_option
@store_option
@url_option
def flags_list(config: Path | None, store: str | None, url: str | None) -> None:
    """Show the flag table: the flags that are set, and its version."""
    try:
        table = operations(config, url, store).flags()
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
@click.argument("mode", type=click.Choice(["legacy", "migrated", "canary", "off"]))
@click.argument("percentage", type=float, required=False)
@reason_option
@actor_option
@config_option
@store_option
@url_option
def flags_set(
    endpoint: str,
    mode: str,
    percentage: float | None,
    reason: str,
    actor: str,
    config: Path | None,
    store: str | None,
    url: str | None,
) -> None:
    """Route ENDPOINT ('METHOD /path') to MODE (canary takes a PERCENTAGE; off hides an
    endpoint only one app serves, such as the port's /docs, behind the other app's 404)."""
    try:
        print_change(
            operations(config, url, store).set(
                endpoint, mode, percentage, actor=actor, reason=reason
            )
        )
    except StranglerError as exc:
        fail(exc)


@flags.command("canary")
@click.argument("endpoint")
@click.argument("percentage", type=float)
@reason_option
@actor_option
@config_option
@store_option
@url_option
def flags_canary(
    endpoint: str,
    percentage: float,
    reason: str,
    actor: str,
    config: Path | None,
    store: str | None,
    url: str | None,
) -> None:
    """Send PERCENTAGE of ENDPOINT's callers (sticky per caller) to migrated."""
    try:
        print_change(
            operations(config, url, store).set(
                endpoint, "canary", percentage, actor=actor, reason=reason
            )
        )
    except StranglerError as exc:
        fail(exc)


@flags.command("history")
@click.argument("endpoint", required=False)
@click.option("--limit", default=20, show_default=True, type=int)
@config_option
@store_option
@url_option
def flags_history(
    endpoint: str | None, limit: int, config: Path | None, store: str | None, url: str | None
) -> None:
    """Show the audit trail, newest first (of one ENDPOINT, or all)."""
    try:
        entries = operations(config, url, store).history(endpoint, limit)
    except StranglerError as exc:
        fail(exc)
    for entry in entries:
        click.echo(f"{entry['at']}  ", nl=False)
        print_change(entry)


@flags.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@actor_option
@config_option
@store_option
def flags_import(path: Path, actor: str, config: Path | None, store: str | None) -> None:
    """Load a flags file into the local store (only the flags that differ); or a whole-store
    export (`export --with-history`) into an empty store, history and all."""
    try:
        service = local(config, store).service
        if is_store_file(path):
            flags_loaded, entries = load_store_file(path, service.store)
            click.echo(f"loaded {flags_loaded} flag(s) and {entries} audit entries from {path}")
            return
        changes = import_flags(service, path, actor=actor)
    except StranglerError as exc:
        fail(exc)
    for entry in changes:
        print_change(entry.to_dict())
    click.echo(f"{len(changes)} flag(s) changed")


@flags.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--with-history",
    is_flag=True,
    help="write the whole store (flags, version, audit trail) as JSON, for `flags import` into"
    " another, empty store",
)
@config_option
@store_option
def flags_export(path: Path, with_history: bool, config: Path | None, store: str | None) -> None:
    """Write the local store's flags to a flags file (to commit it)."""
    try:
        source = local(config, store).service.store
        if with_history:
            entries = write_store_file(path, source)
            click.echo(f"wrote {path}: the flags and {entries} audit entries")
            return
        write_flag_file(path, source.snapshot())
    except StranglerError as exc:
        fail(exc)
    except OSError as exc:
        fail(ConfigError(f"cannot write {path}: {exc.strerror}"))
    click.echo(f"wrote {path}")


def _shown(location: str) -> str:
    """A store's location for the terminal: a URL without its password."""
    if "://" not in location:
        return location
    from strangler.flags.redis import redacted

    return redacted(location)


def _exists(location: str) -> bool:
    """Whether a store is there: a file, or a Redis store that answers as one."""
    if "://" not in location:
        return Path(location).exists()
    try:
        open_store(location).version()
    except FlagStoreError:
        return False
    return True


def local(config: Path | None, store: str | None, *, create: bool = False) -> LocalOperations:
    return LocalOperations(load_settings(config, flags=store), create=create)


@flags.command("init")
@config_option
@store_option
def flags_init(config: Path | None, store: str | None) -> None:
    """Create the flag store (and load the seed file into it); the one command that creates
    one, besides `strangler serve` on its first start."""
    try:
        settings = load_settings(config, flags=store)
        location = settings.path(settings.flags)
        shown = _shown(location)
        if _exists(location):
            click.echo(f"a flag store exists at {shown} already; nothing to do")
            return
        operations = LocalOperations(settings, create=True)
        changes = create_store(settings, operations.service)
    except StranglerError as exc:
        fail(exc)
    click.echo(
        f"created the flag store {shown}" + (f", {len(changes)} flag(s) seeded" if changes else "")
    )


@flags.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@config_option
@store_option
def flags_backup(path: Path, config: Path | None, store: str | None) -> None:
    """Write a consistent copy of the whole store (flags and audit trail) to a new file PATH."""
    try:
        backup_store(local(config, store).service.store, path)
    except StranglerError as exc:
        fail(exc)
    click.echo(f"backed up to {path}")


@flags.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@reason_option
@actor_option
@config_option
@store_option
def flags_restore(
    path: Path, reason: str, actor: str, config: Path | None, store: str | None
) -> None:
    """Set the store's flags to those of the backup PATH, each change audited; every running
    worker follows within a second. The audit trail is kept."""
    try:
        changes = restore_flags(local(config, store).service, path, actor=actor, reason=reason)
    except StranglerError as exc:
        fail(exc)
    for entry in changes:
        print_change(entry.to_dict())
    click.echo(f"{len(changes)} flag(s) changed")


@click.command()
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="file (default: stdout)"
)
@config_option
def openapi(output: Path | None, config: Path | None) -> None:
    """Write one OpenAPI document for the whole service: the port's operations, and the
    endpoints only legacy serves, marked as such (x-strangler-backend)."""
    try:
        settings = load_settings(config)
        legacy = import_string(settings.legacy, settings.root)
        migrated = import_string(settings.migrated, settings.root)
        document = service_openapi(legacy, migrated, discover(legacy, migrated))
    except StranglerError as exc:
        fail(exc)
    text = json.dumps(document, indent=2) + "\n"
    if output is None:
        click.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    click.echo(f"wrote {output}: {len(document.get('paths', {}))} paths")
