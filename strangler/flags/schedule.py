"""Flag changes scheduled for a time: kept in the flag store, applied by a running gateway.

    strangler flags set "GET /items" migrated -m "the port, after the freeze" --at 2026-12-04T06:00Z
    strangler flags set "GET /items" canary 10 -m "morning traffic" --at +10m
    strangler flags scheduled
    strangler flags cancel 3 -m "freeze extended"

A change is checked when it is scheduled (the endpoint, the mode, the reason), kept in the store
beside the flags, and applied by one gateway of the fleet (strangler.rollout.clerk, under a
lease) within a second of its time: an audited change like any other, by its author, its reason
saying it was scheduled. It is taken out of the store before it is applied, so it is applied at
most once, and an operator's cancel that comes first wins. A change that can no longer be made
(an endpoint gone since) is logged and dropped; one the store fails to make is kept again (a new
id) for the next look, or, if the store cannot keep it either, logged whole as lost.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import math
import re
import time
from typing import Any

from strangler.flags.errors import FlagChangeError, FlagStoreError, InvalidFlag
from strangler.flags.model import bounded
from strangler.flags.service import FlagService

log = logging.getLogger("strangler.flags")

_RELATIVE = re.compile(r"\+\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?")


@dataclasses.dataclass(frozen=True)
class ScheduledChange:
    """One flag change to be made at `at` (epoch seconds)."""

    endpoint: str
    mode: str
    percentage: float | None
    at: float
    actor: str
    reason: str
    scheduled_at: float
    id: int = 0  # the store's, once kept
    segments: list[str] | None = None  # as `flags set --segment` gives them (None: keep)

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        del data["id"]
        if data["segments"] is None:  # the shape changes kept before segments have
            del data["segments"]
        return json.dumps(data)

    @classmethod
    def from_json(cls, schedule_id: int, text: str) -> ScheduledChange:
        data = json.loads(text)
        return cls(**{**data, "id": schedule_id})

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "at_text": iso(self.at)}

    def describe(self) -> str:
        share = f" {self.percentage:g}%" if self.percentage is not None else ""
        if self.segments is not None:
            share += ", segments " + (" ".join(self.segments) or "none")
        return f"{self.endpoint} -> {self.mode}{share} at {iso(self.at)}"


def iso(at: float) -> str:
    """A time as the audit trail writes it: ISO 8601, UTC, seconds; one that cannot be written
    (kept before check_at refused it) as its number, so the schedule can still be listed."""
    try:
        return datetime.datetime.fromtimestamp(at, datetime.UTC).isoformat(timespec="seconds")
    except (OverflowError, ValueError, OSError):
        return f"{at!r} (not a time)"


# The last second a time can be written in (ISO 8601's four-digit years): one later would be
# kept, and then break every listing of the schedule when shown.
LATEST = datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=datetime.UTC).timestamp()


def check_at(at: float, now: float | None = None, *, said: str | None = None) -> float:
    """`at` (epoch seconds) if it is to come and can be written; InvalidFlag if it is past, not
    a number, before 1970 or after year 9999. `said`: the time as the user gave it."""
    now = time.time() if now is None else now
    given = repr(said) if said is not None else f"{at!r}"
    if not (math.isfinite(at) and 0 <= at <= LATEST):
        raise InvalidFlag(f"--at {given} is not a time from 1970 to 9999; give a time to come")
    if at <= now:
        raise InvalidFlag(f"--at {given} ({iso(at)}) is past; give a time to come")
    return at


def parse_at(text: str, now: float | None = None, *, utc: bool = False) -> float:
    """`+10m`, `+1h30m`, `+90s`, or an ISO 8601 time (`2026-12-04T06:00Z`; without a zone: the
    machine's local time, or UTC if `utc`: the admin API's caller's zone is not the server's),
    as epoch seconds; InvalidFlag for anything else or a time past."""
    now = time.time() if now is None else now
    spoken = text.strip()
    relative = _RELATIVE.fullmatch(spoken) if spoken.startswith("+") else None
    if relative is not None and any(relative.groups()):
        hours, minutes, seconds = (int(part or 0) for part in relative.groups())
        return check_at(now + hours * 3600 + minutes * 60 + seconds, now, said=text)
    try:
        when = datetime.datetime.fromisoformat(spoken.replace("z", "Z"))
    except ValueError:
        raise InvalidFlag(
            f"--at {text!r}: give a time such as 2026-12-04T06:00Z (ISO 8601) or +10m, +1h30m"
        ) from None
    if when.tzinfo is None and utc:
        when = when.replace(tzinfo=datetime.UTC)
    at = when.timestamp()  # a naive time left so is the machine's local time
    return check_at(at, now, said=text)


class Schedule:
    """Scheduled changes of one flag store, checked by its flag service."""

    def __init__(self, flags: FlagService) -> None:
        self.flags = flags
        self.store = flags.store

    def add(
        self,
        key: str,
        mode: str,
        percentage: float | None,
        at: float,
        *,
        actor: str,
        reason: str,
        segments: list[str] | None = None,
    ) -> ScheduledChange:
        """Checks the change as `set` would (InvalidFlag, UnknownEndpoint...) and its time
        (check_at), and keeps it."""
        endpoint, flag = self.flags.check(key, mode, percentage, segments)
        check_at(at)
        if not reason.strip():
            raise InvalidFlag("say why: a change needs a reason (it goes in the audit trail)")
        bounded(reason, "reason")
        bounded(actor, "actor")
        kept = None if segments is None else [str(segment) for segment in flag.segments]
        change = ScheduledChange(
            endpoint.key, mode, percentage, at, actor, reason.strip(), time.time(), 0, kept
        )
        schedule_id = self.store.add_schedule(change.to_json())
        return dataclasses.replace(change, id=schedule_id)

    def pending(self) -> list[ScheduledChange]:
        """Every change kept, soonest first; one that cannot be read is logged and left out."""
        found = []
        for schedule_id, doc in self.store.schedules().items():
            try:
                found.append(ScheduledChange.from_json(schedule_id, doc))
            except (ValueError, TypeError) as exc:
                log.error("scheduled change %d cannot be read: %s", schedule_id, exc)
        return sorted(found, key=lambda change: (change.at, change.id))

    def cancel(self, schedule_id: int, *, actor: str, reason: str) -> ScheduledChange:
        """Drops a scheduled change before its time; InvalidFlag if there is none by that id."""
        kept = {change.id: change for change in self.pending()}
        change = kept.get(schedule_id)
        if change is None or not self.store.drop_schedule(schedule_id):
            raise InvalidFlag(
                f"no scheduled change {schedule_id} (applied or cancelled already?);"
                " `strangler flags scheduled` lists them"
            )
        log.info("scheduled change %d cancelled by %s: %s", schedule_id, actor, reason)
        return change

    def apply_due(self, now: float) -> list[ScheduledChange]:
        """Applies every change whose time has come (those this call took out of the store)."""
        applied = []
        for change in self.pending():
            if change.at > now:
                break
            if not self.store.drop_schedule(change.id):
                continue  # cancelled, or taken by another worker, meanwhile
            try:
                self.flags.set(
                    change.endpoint,
                    change.mode,
                    change.percentage,
                    actor=change.actor,
                    reason=f"{change.reason} (scheduled {iso(change.scheduled_at)} for"
                    f" {iso(change.at)})",
                    segments=change.segments,
                )
            except FlagChangeError as exc:
                log.error("scheduled change %d not applied: %s", change.id, exc)
                continue
            except FlagStoreError as exc:
                self._put_back(change, exc)
                break  # the store is failing: the rest wait for the next look
            applied.append(change)
        return applied

    def _put_back(self, change: ScheduledChange, fault: FlagStoreError) -> None:
        """Keeps again a change taken out of the store that the store then failed to make (it
        comes back with a new id); if it cannot, logs all of it, for an operator to make."""
        try:
            kept = self.store.add_schedule(change.to_json())
        except FlagStoreError as exc:
            log.error(
                "scheduled change %d lost: the store failed to make it (%s) and to keep it"
                " again (%s); make it by hand: %s",
                change.id,
                fault,
                exc,
                change.to_json(),
            )
            return
        log.warning(
            "scheduled change %d not applied (%s): kept again as %d", change.id, fault, kept
        )
