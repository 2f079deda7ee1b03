"""Flags, the immutable snapshot the router reads, and the audit record of a change."""

from __future__ import annotations

import dataclasses
import datetime
import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from strangler.flags.errors import BadFlagRow, InvalidFlag
from strangler.flags.views import FlagTable, FlagView, HistoryEntry
from strangler.routing.segments import Segment, parse_segments
from strangler.types import Backend, Mode

# The longest free text a store keeps: a reason, an actor, why an endpoint is free of side
# effects. One rule for every one of them, checked by the admin API, the CLI and each store: an
# audit line, not a document (unbounded, 20 changes with 9 MB reasons made a 189 MB store, a
# 180 MB history page, and a gateway of 951 MB: #22).
MAX_TEXT = 1000


def bounded(text: str, what: str) -> str:
    """`text`, if it is at most MAX_TEXT characters; else InvalidFlag saying so."""
    if len(text) > MAX_TEXT:
        raise InvalidFlag(
            f"the {what} is {len(text):,} characters long; keep it to {MAX_TEXT:,}"
            " (it goes in the audit trail)"
        )
    return text


@dataclasses.dataclass(frozen=True, slots=True)
class Flag:
    """How one endpoint is routed: a mode, and for `canary` the percentage sent to migrated.

    `shadow`: the percentage of its requests also sent to the backend not serving them, to
    compare (strangler.shadow). `side_effect_free`: why this endpoint may be shadowed although
    its method is not safe (None: only GET, HEAD and OPTIONS requests are shadowed).
    `segments`: groups of callers routed first, in order, before the mode and the percentage
    (strangler.routing.segments).
    """

    mode: Mode
    percentage: float = 0.0
    shadow: float = 0.0
    side_effect_free: str | None = None
    segments: tuple[Segment, ...] = ()

    @classmethod
    def build(cls, mode: str, percentage: float | None = None) -> Flag:
        """Validates operator input; raises InvalidFlag with a message that says what is allowed."""
        try:
            checked = Mode(mode)
        except ValueError:
            allowed = ", ".join(m.value for m in Mode)
            raise InvalidFlag(f"unknown mode {mode!r}; use one of: {allowed}") from None
        if checked is not Mode.CANARY:
            implied = 100.0 if checked is Mode.MIGRATED else 0.0  # legacy and off: 0
            if percentage is not None and percentage != implied:
                raise InvalidFlag(f"a percentage goes with mode 'canary', not {checked.value!r}")
            return cls(checked, implied)
        if percentage is None:
            raise InvalidFlag("mode 'canary' needs a percentage from 0 to 100")
        # 0.01 % resolution: the bucket space is 10,000 wide (see strangler.routing.decision).
        return cls(checked, _percentage(percentage, "percentage"))

    def with_shadow(self, percentage: float, side_effect_free: str | None) -> Flag:
        """This flag with a shadow share; raises InvalidFlag if it is not 0 to 100."""
        value = _percentage(percentage, "shadow percentage")
        free = str(side_effect_free).strip() if side_effect_free else None
        if free:
            bounded(free, "side-effect-free declaration")
        return dataclasses.replace(self, shadow=value, side_effect_free=free or None)

    def with_segments(self, specs: Sequence[str]) -> Flag:
        """This flag with the segments `specs` (KIND:NAME=VALUE->BACKEND, in order) instead of
        its own; raises InvalidFlag for a malformed one, saying what is allowed."""
        try:
            segments = parse_segments(specs)
        except ValueError as exc:
            raise InvalidFlag(str(exc)) from None
        if segments and self.mode is Mode.OFF:
            raise InvalidFlag("mode 'off' takes no segments: one app serves the endpoint")
        return dataclasses.replace(self, segments=segments)

    def checked(self) -> Flag:
        """This flag, if the admin API would have accepted it; else InvalidFlag saying why.
        A store checks what it writes and what it reads with it: a row written behind its back
        (percentage 500, shadow 1e9) is a fault, never a routing."""
        if not isinstance(self.mode, Mode):
            raise InvalidFlag(f"unknown mode {self.mode!r}")
        if self.mode is Mode.CANARY:
            _percentage(self.percentage, "percentage")
        elif self.percentage != (implied := 100.0 if self.mode is Mode.MIGRATED else 0.0):
            raise InvalidFlag(
                f"mode {self.mode.value!r} with percentage {self.percentage!r}: a percentage"
                f" goes with mode 'canary' ({self.mode.value!r} means {implied:g})"
            )
        _percentage(self.shadow, "shadow percentage")
        if self.side_effect_free is not None:
            if not isinstance(self.side_effect_free, str):
                raise InvalidFlag(f"side_effect_free {self.side_effect_free!r} is not text")
            bounded(self.side_effect_free, "side-effect-free declaration")
        if self.segments:
            _checked_segments(self.segments)
            if self.mode is Mode.OFF:
                raise InvalidFlag("mode 'off' takes no segments: one app serves the endpoint")
        return self

    def routed_as(self, other: Flag, segments_given: bool = False) -> Flag:
        """`other`'s routing with this flag's shadow settings (a flip keeps the shadowing).

        `segments_given`: `other`'s segments (maybe none) are the change's own, and replace
        this flag's. Else this flag's are kept (a percentage changed keeps its targeting),
        except on a flip to legacy, which sends everyone to legacy: a rollback leaves nobody on
        the port."""
        kept = self.segments if other.mode in (Mode.MIGRATED, Mode.CANARY) else ()
        return dataclasses.replace(
            other,
            shadow=self.shadow,
            side_effect_free=self.side_effect_free,
            segments=other.segments if segments_given else kept,
        )

    def describe(self) -> str:
        text = f"canary {self.percentage:g}%" if self.mode is Mode.CANARY else self.mode.value
        if self.segments:
            text += ", segments " + " ".join(str(s) for s in self.segments)
        if self.shadow:
            text += f", shadow {self.shadow:g}%"
        return text

    def to_dict(self) -> FlagView:
        data: FlagView = {"mode": self.mode.value, "percentage": self.percentage}
        if self.shadow or self.side_effect_free:
            data["shadow"] = self.shadow
            data["side_effect_free"] = self.side_effect_free
        if self.segments:  # only then: a flag without keeps the shape older readers know
            data["segments"] = [str(s) for s in self.segments]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Flag:
        """The flag `to_dict` gave (as stored in the audit trail), as it is: `checked()` says
        whether it is one the API would accept."""
        return cls(
            Mode(data["mode"]),
            float(data["percentage"]),
            float(data.get("shadow") or 0.0),
            data.get("side_effect_free") or None,
            stored_segments(data.get("segments")),
        )


def stored_segments(specs: Any) -> tuple[Segment, ...]:
    """The segments of a stored flag (a list of specs, or nothing); ValueError if malformed, so
    a store reports the row as bad (model.stored_flag) instead of routing by half of it."""
    if not specs:
        return ()
    if not isinstance(specs, list) or not all(isinstance(s, str) for s in specs):
        raise ValueError(f"segments {specs!r} are not a list of KIND:NAME=VALUE->BACKEND")
    return parse_segments(specs)


def _checked_segments(segments: Any) -> None:
    """Segments as parsing their own specs gives them, else InvalidFlag: one made by hand with a
    name or value the CLI would refuse is refused too."""
    sound = isinstance(segments, tuple) and all(
        isinstance(s, Segment) and isinstance(s.backend, Backend) for s in segments
    )
    try:
        if not sound or parse_segments([str(s) for s in segments]) != segments:
            raise InvalidFlag(f"segments {segments!r} are not what their specs say")
    except ValueError as exc:
        raise InvalidFlag(str(exc)) from None


def _percentage(value: Any, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidFlag(f"{what} {value!r} is not a number") from None
    if not (math.isfinite(number) and 0.0 <= number <= 100.0):
        raise InvalidFlag(f"{what} {value!r} is out of range; use 0 to 100")
    return round(number, 2)


@dataclasses.dataclass(frozen=True, slots=True)
class FlagSnapshot:
    """The whole flag table at one store version; the router reads only this."""

    version: int
    flags: Mapping[str, Flag]
    shadowing: bool = False  # some flag shadows: the gateway looks closer only then

    @classmethod
    def of(cls, version: int, flags: Mapping[str, Flag]) -> FlagSnapshot:
        shadowing = any(flag.shadow for flag in flags.values())
        return cls(version, MappingProxyType(dict(flags)), shadowing)

    def to_dict(self) -> FlagTable:
        """The table as the admin API and `strangler flags list` show it, keys sorted."""
        return {
            "version": self.version,
            "flags": {key: flag.to_dict() for key, flag in sorted(self.flags.items())},
        }


EMPTY_SNAPSHOT = FlagSnapshot.of(0, {})


def checked_change(flag: Flag, actor: str, reason: str) -> None:
    """What every store checks before it writes a change: the flag is valid and its texts are
    bounded; else InvalidFlag, and nothing is written."""
    flag.checked()
    bounded(actor, "actor")
    bounded(reason, "reason")


def stored_flag(where: str, endpoint: str, flag: Flag) -> Flag:
    """A flag read from the store `where`, if valid; else BadFlagRow naming its row (the
    watcher keeps its last good table, and health says `degraded`)."""
    try:
        return flag.checked()
    except InvalidFlag as exc:
        raise bad_row(where, endpoint, str(exc)) from None


def bad_row(where: str, endpoint: str, problem: str) -> BadFlagRow:
    return BadFlagRow(
        f"the flag store {where} holds a bad flag for {endpoint!r}: {problem}. Set it again"
        " (`strangler flags set`); meanwhile the gateway routes by its last good table",
        endpoint=endpoint,
    )


def utc_now() -> str:
    """The time of a change as the audit trail writes it: ISO 8601, UTC, milliseconds."""
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")


@dataclasses.dataclass(frozen=True, slots=True)
class AuditEntry:
    """One change of one flag: who, when, before, after, why."""

    id: int
    at: str  # ISO 8601, UTC
    actor: str
    endpoint: str
    before: Flag | None
    after: Flag
    reason: str
    version: int

    def to_dict(self) -> HistoryEntry:
        return {
            "id": self.id,
            "at": self.at,
            "actor": self.actor,
            "endpoint": self.endpoint,
            "before": self.before.to_dict() if self.before else None,
            "after": self.after.to_dict(),
            "reason": self.reason,
            "version": self.version,
        }
