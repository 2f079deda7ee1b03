"""Flags, the immutable snapshot the router reads, and the audit record of a change."""

from __future__ import annotations

import dataclasses
import datetime
import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from strangler.flags.errors import InvalidFlag
from strangler.flags.views import FlagTable, FlagView, HistoryEntry
from strangler.types import Mode


@dataclasses.dataclass(frozen=True, slots=True)
class Flag:
    """How one endpoint is routed: a mode, and for `canary` the percentage sent to migrated.

    `shadow`: the percentage of its requests also sent to the backend not serving them, to
    compare (strangler.shadow). `side_effect_free`: why this endpoint may be shadowed although
    its method is not safe (None: only GET, HEAD and OPTIONS requests are shadowed).
    """

    mode: Mode
    percentage: float = 0.0
    shadow: float = 0.0
    side_effect_free: str | None = None

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
        return dataclasses.replace(self, shadow=value, side_effect_free=free or None)

    def routed_as(self, other: Flag) -> Flag:
        """`other`'s routing with this flag's shadow settings (a flip keeps the shadowing)."""
        return dataclasses.replace(
            other, shadow=self.shadow, side_effect_free=self.side_effect_free
        )

    def describe(self) -> str:
        text = f"canary {self.percentage:g}%" if self.mode is Mode.CANARY else self.mode.value
        if self.shadow:
            text += f", shadow {self.shadow:g}%"
        return text

    def to_dict(self) -> FlagView:
        data: FlagView = {"mode": self.mode.value, "percentage": self.percentage}
        if self.shadow or self.side_effect_free:
            data["shadow"] = self.shadow
            data["side_effect_free"] = self.side_effect_free
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Flag:
        """The flag `to_dict` gave (as stored in the audit trail)."""
        return cls(
            Mode(data["mode"]),
            float(data["percentage"]),
            float(data.get("shadow") or 0.0),
            data.get("side_effect_free") or None,
        )


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
