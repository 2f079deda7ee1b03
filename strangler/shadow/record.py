"""What shadowing found, per endpoint: counts, learned noise, the last mismatches, samples.

Everything here is per worker process (each worker shadows its own requests); the report says
which process it comes from.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Any

from strangler.contracts.compare import Answer, Difference
from strangler.flags.model import utc_now
from strangler.shadow.redact import Redactor, SeenRequest, slug

KEEP = 20  # mismatches and recorded samples kept per endpoint


@dataclasses.dataclass
class Mismatch:
    """One shadowed request whose two answers differ outside the noise and the ledger."""

    at: str
    request: SeenRequest
    legacy: Answer
    migrated: Answer
    differences: list[Difference]
    served_by: str

    def wheres(self) -> list[str]:
        return [d.where for d in self.differences]


@dataclasses.dataclass
class EndpointRecord:
    """Counts of one endpoint's shadowing, what it learned, and what it kept."""

    shadowed: int = 0  # sent to the other backend
    compared: int = 0  # both answers in hand and compared
    matched: int = 0
    mismatched: int = 0
    declared: int = 0  # differed only where the ledger accepts it
    dropped: int = 0  # the queue was full
    timed_out: int = 0
    failed: int = 0  # the shadow call raised, or an answer was cut off
    too_big: int = 0  # a body over the limit: not shadowed, or not compared
    busy: int = 0  # not shadowed: the process's CPU was busy with clients
    calibrations: int = 0  # A/A: the serving backend asked a second time
    noise: set[str] = dataclasses.field(default_factory=set)
    where: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    mismatches: collections.deque[Mismatch] = dataclasses.field(
        default_factory=lambda: collections.deque(maxlen=KEEP)
    )
    samples: collections.deque[SeenRequest] = dataclasses.field(
        default_factory=lambda: collections.deque(maxlen=KEEP)
    )

    def learn_noise(self, wheres: set[str]) -> None:
        """Adds A/A differences to the noise, and takes back the mismatches that were only it."""
        new = wheres - self.noise
        if not new:
            return
        self.noise |= new
        kept: collections.deque[Mismatch] = collections.deque(maxlen=KEEP)
        for mismatch in self.mismatches:
            left = [d for d in mismatch.differences if d.where not in self.noise]
            if left:
                mismatch.differences = left
                kept.append(mismatch)
            else:
                self.mismatched -= 1
                self.matched += 1
        self.mismatches = kept
        for where in new:
            self.where.pop(where, None)

    def report(self, redactor: Redactor, key: str) -> dict[str, Any]:
        rate = self.mismatched / self.compared if self.compared else None
        return {
            "endpoint": key,
            "shadowed": self.shadowed,
            "compared": self.compared,
            "matched": self.matched,
            "mismatched": self.mismatched,
            "declared": self.declared,
            "mismatch_rate": rate,
            "dropped": self.dropped,
            "timed_out": self.timed_out,
            "failed": self.failed,
            "too_big": self.too_big,
            "busy": self.busy,
            "calibrations": self.calibrations,
            "noise": sorted(self.noise),
            "mismatched_where": dict(self.where.most_common()),
            "last_mismatches": [
                {
                    "at": m.at,
                    "served_by": m.served_by,
                    "request": redactor.request(m.request),
                    "differences": [
                        {
                            "where": d.where,
                            "legacy": redactor.difference(d.where, d.legacy),
                            "migrated": redactor.difference(d.where, d.migrated),
                        }
                        for d in m.differences
                    ],
                    "legacy": redactor.answer(m.legacy),
                    "migrated": redactor.answer(m.migrated),
                    "case": redactor.case(
                        f"shadow-{slug(key)}-{i + 1}",
                        m.request,
                        "differs at " + ", ".join(m.wheres()),
                    ),
                }
                for i, m in enumerate(reversed(self.mismatches))
            ],
            "samples": len(self.samples),
        }


def now() -> str:
    return utc_now()
