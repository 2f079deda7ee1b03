"""The `strangler` command: serve the gateway, list endpoints, change and audit flags, and run
the contract tests (`strangler contract run`, in app/contracts/cli.py).

Flag commands act on the local flag store named in the settings, or on a running gateway with
`--url` (or STRANGLER_URL), authenticated by STRANGLER_ADMIN_TOKEN.
"""

from __future__ import annotations

import copy
import getpass
import os
import socket
import sys
from pathlib import Path
from typing import Any

import click

from app.config import TOKEN_ENV, Settings, import_string, load_settings
from app.contracts.cli import contract
from app.errors import ConfigError, FlagStoreError, StranglerError
from app.operations import LocalOperations, Operations, RemoteOperations

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _default_actor() -> str:
    try:
        return f"{getpass.getuser()}@{socket.gethostname()}"
    except Exception:  # no user name in some containers
        return f"uid{os.getuid()}@{socket.gethostname()}"


config_option = click.option(
    "--config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="strangler.toml or pyproject.toml to read (default: found upwards from here).",
)
url_option = click.option(
    "--url", envvar="STRANGLER_URL", help="A running gateway to act on, e.g. http://127.0.0.1:8000"
)


def _operations(config: Path | None, url: str | None) -> Operations:
    if url:
        try:  # the gateway's prefix, if this folder configures it
            prefix = load_settings(config).admin_prefix
        except StranglerError:
            prefix = Settings.admin_prefix
        return RemoteOperations(url, os.environ.get(TOKEN_ENV), prefix)
    return LocalOperations(load_settings(config))


def _fail(exc: StranglerError) -> None:
    click.secho(f"error: {exc}", fg="red", err=True)
    sys.exit(2)


def _print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    widths = {c: max([len(c), *(len(str(r.get(c, ""))) for r in rows)]) for c in columns}
    click.secho("  ".join(c.upper().ljust(widths[c]) for c in columns), bold=True)
    for row in rows:
        click.echo("  ".join(str(row.get(c, "")).ljust(widths[c]) for c in columns).rstrip())


def _print_change(entry: dict[str, Any]) -> None:
    def show(flag: dict[str, Any] | None) -> str:
        if flag is None:
            return "(unset)"
        return f"canary {flag['percentage']:g}%" if flag["mode"] == "canary" else flag["mode"]

    click.echo(
        f"{entry['endpoint']}: {show(entry['before'])} -> {show(entry['after'])}"
        f"  (version {entry['version']}, by {entry['actor']}: {entry['reason']})"
    )


@click.group()
def main() -> None:
    """Strangler: move a Flask service to FastAPI one endpoint at a time."""


main.add_command(contract)


@main.command()
@click.option("--legacy", help="The Flask (WSGI) app as MODULE:ATTR.")
@click.option("--migrated", help="The FastAPI (ASGI) app as MODULE:ATTR.")
@click.option("--flags", help="The SQLite flag store (or memory:).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
@click.option(
    "--dev", is_flag=True, help="Open the admin API without a token (never in production)."
)
@click.option("--access-log/--no-access-log", default=True, show_default=True)
@click.option(
    "--loop",
    type=click.Choice(["auto", "asyncio", "uvloop"]),
    default="auto",
    show_default=True,
    help="Event loop (auto: uvloop when installed; see docs/performance.md).",
)
@click.option(
    "--http",
    type=click.Choice(["auto", "h11", "httptools"]),
    default="auto",
    show_default=True,
    help="HTTP parser (auto: httptools when installed).",
)
@config_option
def serve(
    legacy: str | None,
    migrated: str | None,
    flags: str | None,
    host: str,
    port: int,
    workers: int,
    dev: bool,
    access_log: bool,
    loop: str,
    http: str,
    config: Path | None,
) -> None:
    """Serve the gateway in front of both apps."""
    import uvicorn

    from app.server import settings_to_env

    try:
        settings = load_settings(config, legacy=legacy, migrated=migrated, flags=flags)
        if dev:
            os.environ["STRANGLER_DEV"] = "1"
        if settings.dev_mode and not settings.admin_token and host not in LOOPBACK:
            raise ConfigError(
                f"development mode opens the admin API to anyone who can reach {host}; serve it"
                f" on 127.0.0.1, or set {TOKEN_ENV}"
            )
        # Import both apps here, so a typo fails now with a clear message instead of in every
        # worker process over and over.
        import_string(settings.legacy, settings.root)
        import_string(settings.migrated, settings.root)
        if settings.flags in ("memory:", ":memory:"):
            if workers > 1:
                raise ConfigError(
                    "flags = 'memory:' gives every worker a table of its own; with --workers,"
                    " use a SQLite file so a change reaches them all"
                )
        else:
            _seed(settings, LocalOperations(settings))
    except StranglerError as exc:
        _fail(exc)
    if settings.dev_mode and not settings.admin_token:
        click.secho(
            "WARNING: development mode: the admin API and the force header are open to anyone"
            f" who can reach {host}:{port}. Set {TOKEN_ENV} for anything else.",
            fg="yellow",
            err=True,
        )
    os.environ.update(settings_to_env(settings))
    uvicorn.run(
        "app.server:from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=access_log,
        loop=loop,
        http=http,
        log_config=_log_config(),
    )


def _seed(settings: Settings, operations: LocalOperations) -> None:
    """Loads the seed file into a store that has never been written (version 0)."""
    if not settings.seed:
        return
    seed = Path(settings.path(settings.seed))
    if not seed.is_file():
        return
    from app.flagfile import import_flags

    try:
        if operations.service.store.version() != 0:
            return
        changes = import_flags(operations.service, seed, actor="seed")
    except FlagStoreError as exc:
        # Serve anyway: the workers route by defaults (legacy) until the store is readable.
        click.secho(f"WARNING: not seeding from {seed}: {exc}", fg="yellow", err=True)
        return
    click.echo(f"seeded {len(changes)} flag(s) from {seed}", err=True)


def _log_config() -> dict[str, Any]:
    """uvicorn's logging, plus the gateway's own `strangler.*` loggers in every worker."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["strangler"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


@main.command()
@config_option
@url_option
def endpoints(config: Path | None, url: str | None) -> None:
    """List every endpoint of both apps, who serves it and where its requests go."""
    try:
        rows = _operations(config, url).endpoints()
    except StranglerError as exc:
        _fail(exc)
    _print_table(rows, ["endpoint", "served_by", "routing"])


@main.group()
def flags() -> None:
    """Read and change the routing flags."""


@flags.command("list")
@config_option
@url_option
def flags_list(config: Path | None, url: str | None) -> None:
    """Show every endpoint with its flag."""
    try:
        rows = _operations(config, url).endpoints()
    except StranglerError as exc:
        _fail(exc)
    _print_table(rows, ["endpoint", "served_by", "routing"])


reason_option = click.option("--reason", "-m", required=True, help="Why (kept in the audit trail).")
actor_option = click.option("--actor", default=_default_actor, help="Who (default: user@host).")


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
        _print_change(
            _operations(config, url).set(endpoint, mode, percentage, actor=actor, reason=reason)
        )
    except StranglerError as exc:
        _fail(exc)


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
        _print_change(
            _operations(config, url).set(endpoint, "canary", percentage, actor=actor, reason=reason)
        )
    except StranglerError as exc:
        _fail(exc)


@flags.command("history")
@click.argument("endpoint", required=False)
@click.option("--limit", default=20, show_default=True, type=int)
@config_option
@url_option
def flags_history(endpoint: str | None, limit: int, config: Path | None, url: str | None) -> None:
    """Show the audit trail, newest first (of one ENDPOINT, or all)."""
    try:
        entries = _operations(config, url).history(endpoint, limit)
    except StranglerError as exc:
        _fail(exc)
    for entry in entries:
        click.echo(f"{entry['at']}  ", nl=False)
        _print_change(entry)


@flags.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@actor_option
@config_option
def flags_import(path: Path, actor: str, config: Path | None) -> None:
    """Load a flags file into the local store (only the flags that differ)."""
    from app.flagfile import import_flags

    try:
        changes = import_flags(LocalOperations(load_settings(config)).service, path, actor=actor)
    except StranglerError as exc:
        _fail(exc)
    for entry in changes:
        _print_change(entry.to_dict())
    click.echo(f"{len(changes)} flag(s) changed")


@flags.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@config_option
def flags_export(path: Path, config: Path | None) -> None:
    """Write the local store's flags to a flags file (to commit it)."""
    from app.flagfile import write_flag_file

    try:
        store = LocalOperations(load_settings(config)).service.store
        write_flag_file(path, store.snapshot())
    except StranglerError as exc:
        _fail(exc)
    except OSError as exc:
        _fail(ConfigError(f"cannot write {path}: {exc.strerror}"))
    click.echo(f"wrote {path}")
