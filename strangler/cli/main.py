"""The `strangler` command: serve the gateway, list endpoints, change and audit flags, and run
the contract tests.

    strangler serve                 cli/serve.py
    strangler endpoints | flags … | openapi   cli/flags.py
    strangler shadow …              cli/shadow.py
    strangler rollout …             cli/rollout.py
    strangler status | report       cli/report.py
    strangler contract run          strangler/contracts/cli.py (needs `strangler[contracts]`)
"""

from __future__ import annotations

import importlib

import click

from strangler.cli.flags import endpoints, flags, openapi
from strangler.cli.report import report, status
from strangler.cli.rollout import rollout
from strangler.cli.serve import serve
from strangler.cli.shadow import shadow

# Commands whose modules are imported only when they run: the contract runner needs the
# `contracts` extra (Hypothesis), which the gateway alone does not.
_LAZY = {"contract": ("strangler.contracts.cli", "contract", "contracts")}


class _Commands(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *_LAZY])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in _LAZY:
            return super().get_command(ctx, name)
        module, attr, extra = _LAZY[name]
        try:
            command: click.Command = getattr(importlib.import_module(module), attr)
        except ImportError as exc:
            if exc.name is not None and exc.name.startswith("strangler"):
                raise  # our own bug, not a missing extra
            return _needs_extra(name, extra, exc.name)
        return command


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


main.add_command(serve)
main.add_command(endpoints)
main.add_command(flags)
main.add_command(shadow)
main.add_command(rollout)
main.add_command(openapi)
main.add_command(status)
main.add_command(report)
