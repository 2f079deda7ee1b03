"""The `strangler` command: serve the gateway, list endpoints, change and audit flags, and run
the contract tests.

    strangler serve                           cli/serve.py
    strangler endpoints | flags … | openapi   cli/flags.py
    strangler shadow …                        cli/shadow.py
    strangler rollout …                       cli/rollout.py
    strangler status | report                 cli/report.py
    strangler contract run                    strangler/contracts/cli.py (`strangler[contracts]`)
    strangler scaffold ENDPOINT...            strangler/scaffold/cli.py (`strangler[contracts]`)

A command's module is imported only when that command runs (or --help lists them all), so
`strangler flags set` loads neither the web frameworks nor the apps: an operator rolling back
waits for one SQLite write, not for two apps to import.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import re
from typing import Any

import click

from strangler.errors import StranglerError

# name -> (module, attribute, the extra it needs, if any).
_COMMANDS: dict[str, tuple[str, str, str | None]] = {
    "serve": ("strangler.cli.serve", "serve", None),
    "endpoints": ("strangler.cli.flags", "endpoints", None),
    "flags": ("strangler.cli.flags", "flags", None),
    "openapi": ("strangler.cli.flags", "openapi", None),
    "shadow": ("strangler.cli.shadow", "shadow", None),
    "rollout": ("strangler.cli.rollout", "rollout", None),
    "status": ("strangler.cli.report", "status", None),
    "report": ("strangler.cli.report", "report", None),
    # The contract runner needs the `contracts` extra (Hypothesis), which the gateway does not.
    "contract": ("strangler.contracts.cli", "contract", "contracts"),
    # The one command that imports the legacy app; it plays requests through the contract runner.
    "scaffold": ("strangler.scaffold.cli", "scaffold", "contracts"),
}


class _Commands(click.Group):
    """Loads each command on use, and turns a StranglerError from any of them into one line
    on stderr and exit status 2 (the message says how to fix it; a traceback would not)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in _COMMANDS:
            return None
        module, attr, extra = _COMMANDS[name]
        if extra is not None:  # a command may import its extra only once it runs: look first
            absent = _absent_from(extra)
            if absent:
                return _needs_extra(name, extra, absent)
        try:
            command: click.Command = getattr(importlib.import_module(module), attr)
        except ImportError as exc:
            if extra is None or (exc.name is not None and exc.name.startswith("strangler")):
                raise  # our own bug, not a missing extra
            return _needs_extra(name, extra, exc.name)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StranglerError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            ctx.exit(2)


def _absent_from(extra: str) -> str | None:
    """A distribution the `extra` requires that is not installed, or None: all are there, or
    strangler's metadata cannot be read (a source tree on the path), and the import decides."""
    try:
        requirements = importlib.metadata.requires("strangler") or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for requirement in requirements:  # 'hypothesis<6.170.10,>=6.100; extra == "contracts"'
        spec, _, marker = requirement.partition(";")
        if re.search(rf"""extra\s*==\s*["']{re.escape(extra)}["']""", marker) is None:
            continue
        distribution = re.split(r"[\s<>=!~\[(]", spec.strip(), maxsplit=1)[0]
        try:
            importlib.metadata.distribution(distribution)
        except importlib.metadata.PackageNotFoundError:
            return distribution
    return None


def _needs_extra(name: str, extra: str, missing: str | None) -> click.Command:
    """Stands in for a command whose extra is not installed: listed in --help, and saying what
    to install when it is run."""
    message = (
        f"`strangler {name}` needs the {extra} extra ({missing} is not installed):"
        f" pip install 'strangler[{extra}]'"
    )

    def refuse(**_: object) -> None:
        raise click.ClickException(message)

    return click.Command(
        name,
        callback=refuse,
        help=message,
        short_help=f"(needs strangler[{extra}])",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
        params=[click.Argument(["args"], nargs=-1, type=click.UNPROCESSED)],
    )


@click.group(cls=_Commands)
@click.version_option(package_name="strangler")
def main() -> None:
    """Strangler: move a Flask service to FastAPI one endpoint at a time."""
