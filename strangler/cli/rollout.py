"""`strangler rollout …`: move an endpoint to migrated step by step, judged by the gateway from
what it counts, rolled back by itself on a breach (strangler.rollout)."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import click

from strangler.cli.common import (
    actor_option,
    config_option,
    operations,
    print_readers,
    printable,
    reason_option,
    store_option,
    url_option,
)
from strangler.rollout.plan import Criteria, parse_duration, parse_steps


@click.group()
def rollout() -> None:
    """Canary an endpoint through steps; promoted when healthy, rolled back on a breach."""


@rollout.command("start")
@click.argument("endpoint")
@click.option("--steps", default="1,5,25,50,100", show_default=True, help="percentages, in order")
@click.option("--interval", default="5m", show_default=True, help="traffic judged per step")
@click.option(
    "--min-requests",
    type=int,
    default=100,
    show_default=True,
    help="migrated requests a step needs before it is promoted (fewer: it is held)",
)
@click.option(
    "--max-error-delta",
    type=float,
    default=Criteria.max_error_delta,
    show_default=True,
    help="migrated's 5xx rate may exceed legacy's by this many percentage points",
)
@click.option(
    "--max-p99-ratio",
    type=float,
    default=Criteria.max_p99_ratio,
    show_default=True,
    help="migrated's p99 latency may be this many times legacy's",
)
@click.option(
    "--max-mismatch-rate",
    type=float,
    default=None,
    help="% of shadow comparisons that may mismatch (the endpoint must be shadowed)",
)
@click.option(
    "--approve-at",
    default="",
    help="steps that wait for `strangler rollout approve` before the plan moves to them, e.g. 50",
)
@click.option(
    "--from-start",
    "--yes",
    "from_start",
    is_flag=True,
    help="start at the first step even if that cuts back what the endpoint sends to migrated now",
)
@reason_option
@actor_option
@config_option
@store_option
@url_option
def rollout_start(
    endpoint: str,
    steps: str,
    interval: str,
    min_requests: int,
    max_error_delta: float,
    max_p99_ratio: float,
    max_mismatch_rate: float | None,
    approve_at: str,
    from_start: bool,
    reason: str,
    actor: str,
    config: Path | None,
    store: str | None,
    url: str | None,
) -> None:
    """Start rolling ENDPOINT out: it goes to the first step now."""
    plan = {
        "steps": list(parse_steps(steps)),
        "interval": parse_duration(interval),
        "min_requests": min_requests,
        "max_error_delta": max_error_delta,
        "max_p99_ratio": max_p99_ratio,
        "max_mismatch_rate": max_mismatch_rate,
        "approve_at": list(parse_steps(approve_at)) if approve_at.strip() else [],
        "from_start": from_start,
    }
    started = operations(config, url, store).rollout_start(
        endpoint, plan, actor=actor, reason=reason
    )
    click.echo(f"{started['endpoint']}: rollout started at {started['percentage']:g}%")
    click.echo(f"  plan: {started['plan']}")
    if "readers" in started:
        print_readers(started["readers"])


@rollout.command("status")
@click.argument("endpoint", required=False)
@click.option("--events", "events", type=int, default=5, show_default=True, help="last N events")
@config_option
@store_option
@url_option
def rollout_status(
    endpoint: str | None, events: int, config: Path | None, store: str | None, url: str | None
) -> None:
    """Where each rollout stands (or ENDPOINT's), with its current step's figures so far."""
    found = operations(config, url, store).rollout_status(endpoint)
    if not found:
        click.echo("no rollouts")
    for entry in found:
        _print_status(entry, events)


def _action(name: str, help_text: str) -> None:
    """Adds `strangler rollout NAME ENDPOINT -m WHY` (pause, resume, approve, promote, abort)."""

    @rollout.command(name, help=help_text)
    @click.argument("endpoint")
    @reason_option
    @actor_option
    @config_option
    @store_option
    @url_option
    def command(**options: Any) -> None:
        _act(name, **options)


_action("pause", "Stop judging ENDPOINT's rollout; its flag stays where it is.")
_action("resume", "Judge ENDPOINT's rollout again, from a fresh interval at its current step.")
_action("approve", "Approve the step ENDPOINT's rollout waits at: the endpoint moves to it now.")
_action(
    "promote",
    "Move ENDPOINT's rollout to its next step now, unjudged (at its last step: complete it).",
)
_action("abort", "Stop ENDPOINT's rollout and send the endpoint back to legacy.")


def _act(
    action: str,
    endpoint: str,
    reason: str,
    actor: str,
    config: Path | None,
    store: str | None,
    url: str | None,
) -> None:
    entry = operations(config, url, store).rollout_act(action, endpoint, actor=actor, reason=reason)
    click.echo(f"{entry['endpoint']}: rollout {entry['state']} at {entry['percentage']:g}%")


def _print_status(entry: dict[str, Any], events: int) -> None:
    steps = entry["steps"]
    where = f"step {entry['step'] + 1}/{len(steps)} ({entry['percentage']:g}%)"
    line = f"{entry['endpoint']}: {entry['state']}, {where}"
    if "judged_in" in entry:
        line += f", judged in {entry['judged_in']:.0f}s"
    if entry["state"] == "awaiting_approval" and entry.get("next_step") is not None:
        line += f"; {entry['next_step']:g}% waits for `strangler rollout approve`"
    click.secho(line, bold=True)
    click.echo(printable(f"  plan: {entry['plan']}; started by {entry['started_by']}"))
    if "figures" in entry:
        click.echo(
            f"  this step so far ({entry['workers']} worker(s) reporting): {entry['figures']}"
        )
    for event in entry["events"][-events:] if events > 0 else []:
        at = datetime.datetime.fromtimestamp(event["at"], datetime.UTC).strftime("%H:%M:%S")
        click.echo(printable(f"  {at} {event['what']}: {event['detail']}"))
