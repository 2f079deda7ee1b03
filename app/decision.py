"""The routing decision: a pure function of the endpoint, its flag and the caller's bucket.

No I/O, no clock, no globals: the dispatcher gathers the facts, this module decides.
Canary bucketing follows the Unleash client: murmur3 of `endpoint:identifier` into 10,000
buckets (0.01 % resolution). The endpoint key salts the hash, so a caller's buckets on different
endpoints are independent; a caller keeps its bucket forever, so raising the percentage only adds
callers to migrated and never moves one back.
"""

from __future__ import annotations

import enum
import random
from typing import NamedTuple

import mmh3

from app.flags import Flag
from app.routes import Endpoint
from app.types import Backend, Mode

BUCKETS = 10_000


class Reason(enum.StrEnum):
    """Why a request went where it went (for tests, debugging and `Gateway.route()` callers)."""

    FALLTHROUGH = "fallthrough"  # no endpoint matched: legacy keeps its own 404/405
    ONLY_BACKEND = "only-backend"  # one app serves the endpoint
    DEFAULT = "default"  # no flag set: legacy
    STATIC = "static"  # flag mode legacy or migrated
    SPLIT = "split"  # canary, by the caller's bucket
    RANDOM = "random"  # canary, caller without a sticky identifier


class Decision(NamedTuple):
    """Where a request goes, why, and by which flag-table version (a tuple: made per request)."""

    backend: Backend
    reason: Reason
    version: int


def bucket(endpoint_key: str, identifier: str) -> int:
    """The caller's stable bucket for an endpoint, 0 to 9,999 (same on every worker and host)."""
    return int(mmh3.hash(f"{endpoint_key}:{identifier}", signed=False)) % BUCKETS


def random_bucket() -> int:
    """A bucket for a caller with no sticky identifier."""
    return random.randrange(BUCKETS)


def decide(
    endpoint: Endpoint | None,
    flag: Flag | None,
    caller_bucket: int | None,
    version: int,
) -> Decision:
    """Chooses the backend. `caller_bucket` matters only for canary flags (None: random)."""
    if endpoint is None:
        return Decision(Backend.LEGACY, Reason.FALLTHROUGH, version)
    if len(endpoint.backends) == 1:
        return Decision(next(iter(endpoint.backends)), Reason.ONLY_BACKEND, version)
    if flag is None:
        return Decision(Backend.LEGACY, Reason.DEFAULT, version)
    if flag.mode is Mode.LEGACY:
        return Decision(Backend.LEGACY, Reason.STATIC, version)
    if flag.mode is Mode.MIGRATED:
        return Decision(Backend.MIGRATED, Reason.STATIC, version)
    reason = Reason.SPLIT
    if caller_bucket is None:
        caller_bucket, reason = random_bucket(), Reason.RANDOM
    threshold = round(flag.percentage * BUCKETS / 100)
    backend = Backend.MIGRATED if caller_bucket < threshold else Backend.LEGACY
    return Decision(backend, reason, version)
