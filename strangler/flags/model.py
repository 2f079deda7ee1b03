"""Flags, the immutable snapshot the router reads, and the audit record of a change."""

from __future__ import annotations

import dataclasses
import datetime
import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from strangler.flags.errors import InvalidFlag
from strangler.types import Mode


@dataclasses.dataclass(frozen=True, slots=True)
class Flag:
    """How one endpoint is routed: a mode, and for `canary` the percentage sent to migrated."""

    mode: Mode
    percentage: float = 0.0

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
        try:
            value = float(percentage)
        except (TypeError, ValueError):
            raise InvalidFlag(f"percentage {percentage!r} is not a number") from None
        if not (math.isfinite(value) and 0.0 <= value <= 100.0):
            raise InvalidFlag(f"percentage {percentage!r} is out of range; use 0 to 100")
        # 0.01 % resolution: the bucket space is 10,000 wide (see strangler.routing.decision).
        return cls(checked, round(value, 2))

    def describe(self) -> str:
        if self.mode is Mode.CANARY:
            return f"canary {self.percentage:g}%"
        return self.mode.value

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode.value, "percentage": self.percentage}


@dataclasses.dataclass(frozen=True, slots=True)
class FlagSnapshot:
    """The whole flag table at one store version; the router reads only this."""

    version: int
    flags: Mapping[str, Flag]

    @classmethod
    def of(cls, version: int, flags: Mapping[str, Flag]) -> FlagSnapshot:
        return cls(version, MappingProxyType(dict(flags)))

    def to_dict(self) -> dict[str, Any]:
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

    def to_dict(self) -> dict[str, Any]:
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
