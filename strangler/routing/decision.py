"""The routing decision: a pure function of the endpoint, its flag, the caller's bucket and, for
a flag with segments, the request's headers.

No I/O, no clock, no globals: the dispatcher gathers the facts, this module decides.
Canary bucketing follows the Unleash client: murmur3 of `endpoint:identifier` into 10,000
buckets (0.01 % resolution). The endpoint key salts the hash, so a caller's buckets on different
endpoints are independent; a caller keeps its bucket forever, so raising the percentage only adds
callers to migrated and never moves one back. A flag's segments (strangler.routing.segments) are
tried first, before the mode and the percentage; a flag without any pays one truth test for them.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple, Protocol

import mmh3

from strangler.routing.segments import Headers, Segment, matching
from strangler.types import Backend, Mode

if TYPE_CHECKING:
    from strangler.routing.inventory import Endpoint


class Flag(Protocol):
    """What the decision reads of a flag (strangler.flags.model.Flag is one): routing sits below
    the flag table and imports nothing of it."""

    @property
    def mode(self) -> Mode: ...

    @property
    def percentage(self) -> float: ...

    @property
    def segments(self) -> Sequence[Segment]: ...


BUCKETS = 10_000


class Reason(enum.StrEnum):
    """Why a request went where it went (for tests, debugging and `Gateway.route()` callers)."""

    FALLTHROUGH = "fallthrough"  # no endpoint matched: legacy keeps its own 404/405
    ONLY_BACKEND = "only-backend"  # one app serves the endpoint
    OFF = "off"  # one app serves it, and it is switched off: the other app answers (404)
    DEFAULT = "default"  # no flag set: legacy
    STATIC = "static"  # flag mode legacy or migrated
    SPLIT = "split"  # canary, by the caller's bucket (or 0 / 100 %: by the percentage alone)
    RANDOM = "random"  # canary, caller without a sticky identifier
    SEGMENT = "segment"  # one of the flag's segments matched the request
    FORCED = "forced"  # the X-Strangler-Force-Backend header chose (set by the gateway)
    SHED = "shed"  # the gateway answered 503: the backend had all it may have in flight
    TOO_LARGE = "too-large"  # the gateway answered 413: the body is over the endpoint's limit


class Decision(NamedTuple):
    """Where a request goes, why, and by which flag-table version (a tuple: made per request).
    `endpoint`: the key of the endpoint matched (None: none); `bucket`: the caller's canary
    bucket, where a split needed it (for the request log)."""

    backend: Backend
    reason: Reason
    version: int
    endpoint: str | None = None
    bucket: int | None = None


def bucket(endpoint_key: str, identifier: str) -> int:
    """The caller's stable bucket for an endpoint, 0 to 9,999 (same on every worker and host)."""
    return int(mmh3.hash(f"{endpoint_key}:{identifier}", signed=False)) % BUCKETS


def random_bucket() -> int:
    """A bucket for a caller with no sticky identifier."""
    return random.randrange(BUCKETS)


def decide(
    endpoint: Endpoint | None,
    flag: Flag | None,
    version: int,
    identify: Callable[[], str | None] = lambda: None,
    headers: Headers = (),
) -> Decision:
    """Chooses the backend for a request to `endpoint` under `flag`.

    `identify` returns the caller's sticky identifier. Only a split needs it, so it is called
    only for a canary strictly between 0 and 100 % (reading a JWT claim is the costly part).
    `headers`: the request's (ASGI) headers, read only when the flag has segments.
    """
    if endpoint is None:
        return Decision(Backend.LEGACY, Reason.FALLTHROUGH, version)
    key = endpoint.key
    if len(endpoint.backends) == 1:
        only = next(iter(endpoint.backends))
        if flag is not None and flag.mode is Mode.OFF:
            other = Backend.LEGACY if only is Backend.MIGRATED else Backend.MIGRATED
            return Decision(other, Reason.OFF, version, key)
        return Decision(only, Reason.ONLY_BACKEND, version, key)
    if flag is None:
        return Decision(Backend.LEGACY, Reason.DEFAULT, version, key)
    if flag.segments:  # an empty tuple: the one cost of segments to a flag without any
        segment = matching(flag.segments, headers)
        if segment is not None:
            return Decision(segment.backend, Reason.SEGMENT, version, key)
    if flag.mode is Mode.LEGACY:
        return Decision(Backend.LEGACY, Reason.STATIC, version, key)
    if flag.mode is Mode.MIGRATED:
        return Decision(Backend.MIGRATED, Reason.STATIC, version, key)
    threshold = threshold_of(flag)
    if threshold == 0 or threshold == BUCKETS:  # everyone on one side: no caller needed
        everyone = Backend.MIGRATED if threshold else Backend.LEGACY
        return Decision(everyone, Reason.SPLIT, version, key)
    identifier = identify()
    if identifier is None:
        drawn = random_bucket()
        return Decision(side(threshold, drawn), Reason.RANDOM, version, key, drawn)
    caller = bucket(key, identifier)
    return Decision(side(threshold, caller), Reason.SPLIT, version, key, caller)


def threshold_of(flag: Flag) -> int:
    """The first bucket that stays on legacy under a canary flag."""
    return round(flag.percentage * BUCKETS / 100)


def side(threshold: int, caller_bucket: int) -> Backend:
    """Buckets below the threshold go to migrated; raising it only adds callers."""
    return Backend.MIGRATED if caller_bucket < threshold else Backend.LEGACY
