"""What operators hear about: every rollout step, approval wait, rollback, guard action and flag
change, read back from the flag store, where every process (a gateway worker, the CLI on the
store, the admin API) writes them; so a change made anywhere is told once, by one follower.

Two sources, both append-only: the audit trail (flag changes, the guard's included) and each
rollout's own record of events (strangler.rollout.plan.Rollout.note). A follower keeps a cursor
over both (the last audit id, and per endpoint the time of the last rollout event) and returns
what is newer, oldest first. Moves a rollout makes itself are told by its own events (they say
more), not again as flag changes (their reasons begin `rollout `).

Each event has an id that stays the same however often it is read, so a receiver told twice
(a worker that took over the follower's lease) can tell it has seen it.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import logging
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from strangler.flags.model import AuditEntry
from strangler.flags.store import FlagStore
from strangler.rollout.conductor import GUARD_ACTOR
from strangler.rollout.plan import Rollout
from strangler.rollout.service import ROLLOUT_ACTOR

log = logging.getLogger("strangler.rollout")

# A rollout's record names its events in words; the kind is what receivers and metrics key on.
ROLLOUT_KINDS = {
    "started": "started",
    "promoted": "promoted",
    "awaiting approval": "awaiting_approval",
    "approved": "approved",
    "hold": "held",
    "paused": "paused",
    "resumed": "resumed",
    "completed": "completed",
    "rolled back": "rolled_back",
    "aborted": "aborted",
}
# Kinds counted but not sent to webhooks: a hold comes every interval and changes nothing.
QUIET = frozenset({"held"})
ROLLOUT_REASON = "rollout "  # how every move of strangler.rollout.service's reason begins
HISTORY_READ = 500  # audit entries read per look; more changes than that a second are not told


@dataclasses.dataclass(frozen=True)
class Event:
    """One thing that happened: `kind` (promoted, rolled_back, guard_fired, flag_changed...),
    the endpoint, when (epoch seconds), who, and a line of text an operator reads."""

    id: str
    kind: str
    endpoint: str
    at: float
    actor: str
    text: str
    detail: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def quiet(self) -> bool:
        return self.kind in QUIET

    def to_dict(self) -> dict[str, Any]:
        at = datetime.datetime.fromtimestamp(self.at, datetime.UTC)
        return {
            "id": self.id,
            "kind": self.kind,
            "endpoint": self.endpoint,
            "at": at.isoformat(timespec="milliseconds"),
            "actor": self.actor,
            "text": self.text,
            "detail": self.detail,
        }


def change_event(entry: AuditEntry) -> Event | None:
    """The event of one audited flag change; None for a rollout's own moves (its conductor's,
    and those an operator's rollout action made: their reasons begin `rollout `), which the
    rollout's events tell."""
    if entry.actor == ROLLOUT_ACTOR or entry.reason.startswith(ROLLOUT_REASON):
        return None
    kind = "guard_fired" if entry.actor == GUARD_ACTOR else "flag_changed"
    before = entry.before.describe() if entry.before else "unset"
    verb = "the guard sent" if kind == "guard_fired" else f"{entry.actor} set"
    text = f"{entry.endpoint}: {verb} {before} -> {entry.after.describe()}: {entry.reason}"
    at = datetime.datetime.fromisoformat(entry.at).timestamp()
    detail: dict[str, Any] = {
        "before": entry.before.to_dict() if entry.before else None,
        "after": entry.after.to_dict(),
        "reason": entry.reason,
        "version": entry.version,
    }
    return Event(
        f"change-{entry.id}-v{entry.version}", kind, entry.endpoint, at, entry.actor, text, detail
    )


def rollout_event(rollout: Rollout, event: dict[str, Any]) -> Event:
    """The event of one entry of a rollout's record."""
    what = str(event.get("what", ""))
    kind = ROLLOUT_KINDS.get(what, what.replace(" ", "_"))
    endpoint, at = rollout.plan.endpoint, float(event.get("at", 0.0))
    digest = hashlib.sha256(f"{endpoint}\n{at!r}\n{what}".encode()).hexdigest()[:20]
    detail = str(event.get("detail", ""))
    return Event(
        f"rollout-{digest}",
        kind,
        endpoint,
        at,
        _actor_of(detail) or ROLLOUT_ACTOR,
        f"{endpoint}: rollout {what}: {detail}",
        {"state": rollout.state.value, "percentage": rollout.percentage, "detail": detail},
    )


def _actor_of(detail: str) -> str | None:
    """An operator's action's record says `by NAME: why`, a start `PLAN; by NAME: why`
    (strangler.rollout.service); the plan's description holds no `; by `."""
    said = detail[3:] if detail.startswith("by ") else detail.partition("; by ")[2]
    if ": " in said:
        return said.split(": ", 1)[0]
    return None


@dataclasses.dataclass
class Cursor:
    """Where a follower is: the last audit id told, and per endpoint the time of the last
    rollout event told. Kept in the store, so the next holder of the lease goes on from it."""

    audit: int = 0
    rollouts: dict[str, float] = dataclasses.field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"audit": self.audit, "rollouts": self.rollouts})

    @classmethod
    def from_json(cls, text: str) -> Cursor:
        data = json.loads(text)
        return cls(int(data["audit"]), {str(k): float(v) for k, v in data["rollouts"].items()})


class EventFollower:
    """Reads what happened since its cursor from the store (strangler.rollout.events)."""

    def __init__(self, store: FlagStore, cursor: Cursor | None = None) -> None:
        self.store = store
        self.cursor = cursor

    def poll(self) -> list[Event]:
        """The events since the cursor, oldest first; the first look (no cursor) only takes
        its place at the ends of both sources: what happened before it is not told."""
        entries = self.store.history(None, HISTORY_READ)
        rollouts = _rollouts(self.store)
        if self.cursor is None:
            self.cursor = Cursor(
                max((e.id for e in entries), default=0),
                {key: _last(r) for key, r in rollouts.items()},
            )
            return []
        found: list[Event] = []
        for entry in reversed(entries):  # the store gives the newest first
            if entry.id > self.cursor.audit:
                event = change_event(entry)
                if event is not None:
                    found.append(event)
        for key, rollout in rollouts.items():
            since = self.cursor.rollouts.get(key, 0.0)
            found.extend(rollout_event(rollout, e) for e in rollout.events if e["at"] > since)
        self.cursor.audit = max([self.cursor.audit, *(e.id for e in entries)])
        self.cursor.rollouts.update({key: _last(r) for key, r in rollouts.items()})
        found.sort(key=lambda event: event.at)
        return found


def _rollouts(store: FlagStore) -> dict[str, Rollout]:
    found = {}
    for endpoint, (revision, doc) in store.rollouts().items():
        try:
            found[endpoint] = Rollout.from_json(json.loads(doc), revision)
        except (ValueError, TypeError, KeyError):
            continue  # the rollout service logs it
    return found


def _last(rollout: Rollout) -> float:
    return max((float(e["at"]) for e in rollout.events), default=0.0)


class EventCounter:
    """`strangler_rollout_events_total{endpoint, kind}`: rollout events and guard actions, as
    the follower tells them (so once in the fleet). Under several workers its values are in
    prometheus_client's files like the request counts; else `registry` is scraped."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events = Counter(
            "strangler_rollout_events",
            "Rollout events (promoted, rolled_back, paused, awaiting_approval, held...) and guard"
            " actions (guard_fired), by endpoint and kind",
            ["endpoint", "kind"],
            registry=self.registry,
        )

    def count(self, event: Event) -> None:
        if event.kind != "flag_changed":
            self.events.labels(event.endpoint, event.kind).inc()
