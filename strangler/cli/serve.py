"""`strangler serve`: the gateway in front of both apps, on uvicorn."""

from __future__ import annotations

import copy
import os
import secrets
from pathlib import Path
from typing import Any

import click

from strangler.assembly import check_settings, create_store, settings_to_env
from strangler.cli.common import config_option
from strangler.cli.operations import LocalOperations
from strangler.credentials import SESSION_SECRET_ENV
from strangler.errors import ConfigError
from strangler.flags.errors import FlagStoreUnreachable
from strangler.flags.inventory import publish_inventory
from strangler.flags.store import deleted
from strangler.metrics.counters import multiprocess
from strangler.metrics.exposition import prepare_multiprocess, serve_port
from strangler.routing.inventory import discover
from strangler.serving.protocol import configure
from strangler.serving.supervisor import run
from strangler.settings import TOKEN_ENV, import_string, load_settings
from strangler.types import LOOPBACK


@click.command()
@click.option("--legacy", help="The Flask (WSGI) app as MODULE:ATTR.")
@click.option("--migrated", help="The FastAPI (ASGI) app as MODULE:ATTR.")
@click.option("--flags", help="The SQLite flag store (or memory:).")
@click.option(
    "--init",
    is_flag=True,
    help="Create the flag store (and seed it) even where one was deleted. Without it, a store"
    " is created only where none ever was: a start after its file was deleted is refused.",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
@click.option(
    "--dev", is_flag=True, help="Open the admin API without a token (never in production)."
)
@click.option(
    "--access-log/--no-access-log",
    default=None,
    help="uvicorn's access log (default: on, unless the settings' request_log is on).",
)
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
    help="HTTP parser. auto and httptools: httptools with the gateway's limits (header size and"
    " time, body, connections; strangler/serving); h11: uvicorn's h11, without them.",
)
@config_option
def serve(
    legacy: str | None,
    migrated: str | None,
    flags: str | None,
    init: bool,
    host: str,
    port: int,
    workers: int,
    dev: bool,
    access_log: bool | None,
    loop: str,
    http: str,
    config: Path | None,
) -> None:
    """Serve the gateway in front of both apps."""
    import uvicorn

    settings = load_settings(config, legacy=legacy, migrated=migrated, flags=flags)
    if dev:
        os.environ["STRANGLER_DEV"] = "1"
    open_admin = settings.dev_mode and not (settings.admin_token or settings.admin_tokens)
    if open_admin and host not in LOOPBACK:
        raise ConfigError(
            f"development mode opens the admin API to anyone who can reach {host}; serve it"
            f" on 127.0.0.1, or set {TOKEN_ENV}"
        )
    check_settings(settings)
    # Import both apps here, so a typo fails now with a clear message instead of in every
    # worker process over and over.
    inventory = discover(
        import_string(settings.legacy, settings.root),
        import_string(settings.migrated, settings.root),
    )
    if settings.flags in ("memory:", ":memory:"):
        if workers > 1:
            raise ConfigError(
                "flags = 'memory:' gives every worker a table of its own; with --workers,"
                " use a SQLite file so a change reaches them all"
            )
    else:
        # The first start creates the store; later ones find it, and refuse to start afresh
        # where it was deleted (#22). The endpoints go in it too, for the commands that do not
        # import the apps.
        if not init and (gone := deleted(settings.path(settings.flags))):
            raise ConfigError(gone)
        ops = LocalOperations(settings, create=True, inventory=inventory)
        try:
            changes = create_store(settings, ops.service)
            publish_inventory(ops.store, inventory)
        except FlagStoreUnreachable as exc:
            # A server store (Redis) that is away: serve anyway, everything on legacy,
            # until it is back (the workers keep trying; health says degraded).
            click.secho(f"WARNING: {exc}; serving on legacy until it answers", err=True)
            changes = []
        finally:
            ops.store.close()  # not across the workers' fork
        if changes:
            click.echo(f"seeded {len(changes)} flag(s) from {settings.seed}", err=True)
    if settings.dev_mode and not (settings.admin_token or settings.admin_tokens):
        click.secho(
            "WARNING: development mode: the admin API and the force header are open to anyone"
            f" who can reach {host}:{port}. Set {TOKEN_ENV} for anything else.",
            fg="yellow",
            err=True,
        )
    if workers > 1:  # each worker writes its metrics to files; a scrape adds them up
        prepare_multiprocess()
    if settings.metrics and settings.metrics_port and multiprocess():
        # This process reads every worker's files (one process alone serves its own port).
        serve_port(settings.metrics_port, settings.metrics_host)
    if access_log is None:
        access_log = not settings.request_log
    # Development mode signs dashboard sessions with a key of this run's, the same in every
    # worker (with credentials, the key comes from them).
    os.environ.setdefault(SESSION_SECRET_ENV, secrets.token_hex(16))
    os.environ.update(settings_to_env(settings))
    server_config = uvicorn.Config(
        "strangler.assembly:from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=access_log,
        loop=loop,
        http=configure(settings.limits) if http != "h11" else "h11",
        timeout_keep_alive=settings.keep_alive_timeout,
        # On SIGTERM: the listener closed (new requests refused at connect), what is in flight
        # given drain_timeout to finish, then cut (strangler.serving.supervisor).
        timeout_graceful_shutdown=settings.drain_timeout,
        log_config=log_config(),
    )
    run(server_config)


def log_config() -> dict[str, Any]:
    """uvicorn's logging, plus the gateway's own `strangler.*` loggers in every worker."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["strangler"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config
