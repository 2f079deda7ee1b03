"""`strangler endpoints` and `strangler flags …`: the inventory, and reading and changing flags.

They act on the local flag store named in the settings, or on a running gateway with `--url`
(or STRANGLER_URL), authenticated by STRANGLER_ADMIN_TOKEN. They check endpoint names against
the inventory published in the store, and import neither app; only `endpoints --publish`,
`flags init` (which seeds the store) and `openapi` do, inside the command.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from strangler.cli.common import (
    actor_option,
    config_option,
    describe,
    local,
    operations,
    print_change,
    print_entry,
    print_table,
    printable,
    reason_option,
    store_option,
    url_option,
)
from strangler.cli.operations import LocalOperations, shown
from strangler.errors import ConfigError
from strangler.flags.errors import FlagStoreError
from strangler.flags.inventory import publish_inventory
from strangler.flags.schedule import iso, parse_at
from strangler.flags.store import open_store
from strangler.routing.inventory import Inventory, discover
from strangler.settings import Settings, import_string, load_settings


def discovered(settings: Settings) -> Inventory:
    """Both apps' endpoints, from the apps themselves (this imports them)."""
    legacy = import_string(settings.legacy, settings.root)
    migrated = import_string(settings.migrated, settings.root)
    return discover(legacy, migrated)


@click.command()
@click.option(
    "--publish",
    is_flag=True,
    help="Import both apps and record their endpoints in the flag store first (as a gateway"
    " does when it starts), for the commands that check names against it.",
)
@config_option
@store_option
@url_option
def endpoints(publish: bool, config: Path | None, store: str | None, url: str | None) -> None:
    """List every endpoint of both apps, who serves it and where its requests go (as the
    gateway published them in the flag store)."""
    ops = _published(config, store, url) if publish else operations(config, url, store)
    print_table(ops.endpoints(), ["endpoint", "served_by", "routing"])
    if isinstance(ops, LocalOperations) and (published := ops.published()):
        click.secho(printable(f"(the endpoints as {published})"), dim=True)


def _published(config: Path | None, store: str | None, url: str | None) -> LocalOperations:
    """The store, once both apps' endpoints are recorded in it."""
    if url:
        raise ConfigError(
            "--publish records the endpoints in a flag store: give --flags (or nothing, for the"
            " settings' store), not --url; a gateway publishes its own when it starts"
        )
    settings = load_settings(config, flags=store)
    ops = LocalOperations(settings, inventory=discovered(settings))
    publish_inventory(ops.store, ops.service.inventory, force=True)
    count = len(ops.service.inventory)
    click.echo(f"published {count} endpoint(s) to the flag store {shown(ops.location)}")
    return ops


@click.group()
def flags() -> None:
    """Read and change the routing flags."""


@flags.command("list")
@config_option
@store_option
@url_option
def flags_list(config: Path | None, store: str | None, url: str | None) -> None:
    """Show the flag table: the flags that are set, and its version."""
    table = operations(config, url, store).flags()
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
@click.option(
    "-p",
    "--percentage",
    "percentage_option",
    type=float,
    help="for canary: the share of callers sent to migrated, 0 to 100 (or as the argument)",
)
@click.option(
    "--segment",
    "segments",
    multiple=True,
    metavar="KIND:NAME=VALUE->BACKEND",
    help="route these callers first, before the percentage (repeat it; tried in order):"
    " header:X-Tenant=acme->migrated, cookie:beta=1->migrated, claim:role=internal->migrated"
    " (a JWT claim, read without verifying the token). Replaces the endpoint's segments;"
    " without it they are kept, except by a change to legacy",
)
@click.option(
    "--no-segments", is_flag=True, help="drop the endpoint's segments: everyone by the mode"
)
@click.option(
    "--at",
    "at",
    help="make the change then, not now: an ISO time (2026-12-04T06:00Z) or +10m, +1h30m;"
    " a running gateway applies it",
)
@reason_option
@actor_option
@config_option
@store_option
@url_option
def flags_set(
    endpoint: str,
    mode: str,
    percentage: float | None,
    percentage_option: float | None,
    segments: tuple[str, ...],
    no_segments: bool,
    at: str | None,
    reason: str,
    actor: str,
    config: Path | None,
    store: str | None,
    url: str | None,
) -> None:
    """Route ENDPOINT ('METHOD /path') to MODE (canary takes a PERCENTAGE; off hides an
    endpoint only one app serves, such as the port's /docs, behind the other app's 404).
    Segments (--segment) are routed first, whatever the mode and percentage."""
    if percentage is not None and percentage_option is not None:
        raise click.UsageError("give the percentage once: as the argument or as -p")
    percentage = percentage if percentage_option is None else percentage_option
    if segments and no_segments:
        raise click.UsageError("--segment and --no-segments contradict each other")
    given = [] if no_segments else list(segments) if segments else None
    ops = operations(config, url, store)
    if at is None:
        result = ops.set(endpoint, mode, percentage, actor=actor, reason=reason, segments=given)
        print_change(result)
        return
    when = parse_at(at)  # here: a time without a zone is this machine's
    change = ops.schedule(
        endpoint, mode, percentage, when, actor=actor, reason=reason, segments=given
    )
    click.echo(printable(f"scheduled change {change['id']}: {_scheduled(change)}"))
    click.echo("  a running gateway applies it then; `strangler flags cancel ID` drops it")


@flags.command("scheduled")
@config_option
@store_option
@url_option
def flags_scheduled(config: Path | None, store: str | None, url: str | None) -> None:
    """List the flag changes scheduled for later (`flags set ... --at`), soonest first."""
    changes = operations(config, url, store).scheduled()
    if not changes:
        click.echo("no changes scheduled")
    for change in changes:
        click.echo(printable(f"{change['id']:>4}  {_scheduled(change)}"))
        click.echo(printable(f"      by {change['actor']}: {change['reason']}"))


@flags.command("cancel")
@click.argument("schedule_id", metavar="ID", type=int)
@reason_option
@actor_option
@config_option
@store_option
@url_option
def flags_cancel(
    schedule_id: int,
    reason: str,
    actor: str,
    config: Path | None,
    store: str | None,
    url: str | None,
) -> None:
    """Drop the scheduled change ID before its time (`flags scheduled` lists them)."""
    change = operations(config, url, store).cancel_scheduled(
        schedule_id, actor=actor, reason=reason
    )
    click.echo(printable(f"cancelled change {change['id']}: {_scheduled(change)}"))


def _scheduled(change: dict[str, Any]) -> str:
    share = f" {change['percentage']:g}%" if change["percentage"] is not None else ""
    if change.get("segments") is not None:
        share += ", segments " + (" ".join(change["segments"]) or "none")
    return f"{change['endpoint']} -> {change['mode']}{share} at {iso(change['at'])}"


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
    ops = operations(config, url, store)
    print_change(ops.set(endpoint, "canary", percentage, actor=actor, reason=reason))


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
    for entry in operations(config, url, store).history(endpoint, limit):
        click.echo(printable(f"{entry['at']}  "), nl=False)
        print_entry(entry)


@flags.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@actor_option
@config_option
@store_option
def flags_import(path: Path, actor: str, config: Path | None, store: str | None) -> None:
    """Load a flags file into the local store (only the flags that differ); or a whole-store
    export (`export --with-history`) into an empty store, history and all."""
    from strangler.flags.flagfile import import_flags
    from strangler.flags.transfer import is_store_file, load_store_file

    ops = local(config, store)
    if is_store_file(path):
        flags_loaded, entries = load_store_file(path, ops.store)
        click.echo(f"loaded {flags_loaded} flag(s) and {entries} audit entries from {path}")
        return
    changes = import_flags(ops.service, path, actor=actor)
    for entry in changes:
        print_entry(entry.to_dict())
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
    from strangler.flags.flagfile import write_flag_file
    from strangler.flags.transfer import write_store_file

    source = local(config, store).store
    try:
        if with_history:
            entries = write_store_file(path, source)
            click.echo(f"wrote {path}: the flags and {entries} audit entries")
            return
        write_flag_file(path, source.snapshot())
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from None
    click.echo(f"wrote {path}")


def _exists(location: str) -> bool:
    """Whether a store is there: a file, or a Redis store that answers as one."""
    if "://" not in location:
        return Path(location).exists()
    try:
        open_store(location).version()
    except FlagStoreError:
        return False
    return True


@flags.command("init")
@config_option
@store_option
def flags_init(config: Path | None, store: str | None) -> None:
    """Create the flag store, record both apps' endpoints in it and load the seed file into
    it; the one command that creates one, besides `strangler serve` on its first start."""
    from strangler.assembly import create_store

    settings = load_settings(config, flags=store)
    location = settings.path(settings.flags)
    if _exists(location):
        click.echo(f"a flag store exists at {shown(location)} already; nothing to do")
        return
    ops = LocalOperations(settings, create=True, inventory=discovered(settings))
    changes = create_store(settings, ops.service)
    publish_inventory(ops.store, ops.service.inventory)
    click.echo(
        f"created the flag store {shown(location)}"
        + (f", {len(changes)} flag(s) seeded" if changes else "")
    )


@flags.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@config_option
@store_option
def flags_backup(path: Path, config: Path | None, store: str | None) -> None:
    """Write a consistent copy of the whole store (flags and audit trail) to a new file PATH."""
    from strangler.flags.backup import backup_store

    backup_store(local(config, store).store, path)
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
    from strangler.flags.backup import restore_flags

    changes = restore_flags(local(config, store).service, path, actor=actor, reason=reason)
    for entry in changes:
        print_entry(entry.to_dict())
    click.echo(f"{len(changes)} flag(s) changed")


@click.command()
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="file (default: stdout)"
)
@config_option
def openapi(output: Path | None, config: Path | None) -> None:
    """Write one OpenAPI document for the whole service: the port's operations, and the
    endpoints only legacy serves, marked as such (x-strangler-backend)."""
    from strangler.routing.openapi import service_openapi

    settings = load_settings(config)
    legacy = import_string(settings.legacy, settings.root)
    migrated = import_string(settings.migrated, settings.root)
    document = service_openapi(legacy, migrated, discover(legacy, migrated))
    text = json.dumps(document, indent=2) + "\n"
    if output is None:
        click.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    click.echo(f"wrote {output}: {len(document.get('paths', {}))} paths")
