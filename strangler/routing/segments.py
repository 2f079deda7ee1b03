"""Segments: named groups of callers a flag routes first, before any percentage.

    header:X-Tenant=acme->migrated     a request header's value
    cookie:beta=1->migrated            a cookie's value
    claim:role=internal->migrated      a claim of the bearer token (read, never verified)

A flag's segments are tried in order; the first that matches the request sends it to its
backend, and a request that matches none is routed by the flag's mode and percentage as before.
A value matches exactly (case matters; a header's name does not). A claim that is a list
matches when the value is one of its items (`claim:roles=internal`).

The claim is read from `Authorization: Bearer TOKEN` (or `Token`, `JWT`, or the bare token)
without verifying the token's signature (strangler.routing.claims): it only picks a backend,
and both apps still check the token.
Anyone can forge a claim, so a segment must never be what keeps a caller out of migrated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from strangler.routing import claims
from strangler.types import Backend

KINDS = ("header", "cookie", "claim")
ARROW = "->"
MAX_SEGMENTS = 20  # per flag: a short list of named groups, tried in order on each request
MAX_SPEC = 200  # characters in one segment: a name and a value, not a document

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")  # RFC 9110 token: header/cookie names

Headers = Iterable[tuple[bytes, bytes]]


class Segment(NamedTuple):
    """One rule: requests whose `kind` attribute `name` is `value` go to `backend`."""

    kind: str  # header, cookie or claim
    name: str  # lower case for a header
    value: str
    backend: Backend

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}={self.value}{ARROW}{self.backend.value}"


def parse_segment(spec: str) -> Segment:
    """The segment `kind:name=value->backend`; ValueError with a one-line message that says
    what is wrong and what is allowed."""
    text = str(spec).strip()
    if len(text) > MAX_SPEC:
        raise ValueError(f"segment {text[:40]!r}... is over {MAX_SPEC} characters")
    rule, arrow, target = text.rpartition(ARROW)
    if not arrow:
        raise ValueError(
            f"segment {text!r} names no backend; write KIND:NAME=VALUE->migrated (or ->legacy)"
        )
    try:
        backend = Backend(target.strip().lower())
    except ValueError:
        raise ValueError(
            f"segment {text!r} sends to {target.strip()!r}; use ->migrated or ->legacy"
        ) from None
    kind, colon, rest = rule.strip().partition(":")
    if not colon or kind not in KINDS:
        raise ValueError(
            f"segment {text!r}: unknown kind {kind!r}; use header:NAME=VALUE,"
            " cookie:NAME=VALUE or claim:NAME=VALUE"
        )
    name, equals, value = rest.partition("=")
    name = name.strip()
    if not equals or not name or not value:
        raise ValueError(f"segment {text!r} needs a name and a value: {kind}:NAME=VALUE")
    if kind != "claim" and not _TOKEN.match(name):
        raise ValueError(f"segment {text!r}: {name!r} is not a valid {kind} name")
    if any(ord(c) < 32 or ord(c) == 127 for c in name + value):
        raise ValueError(f"segment {text!r} holds a control character")
    return Segment(kind, name.lower() if kind == "header" else name, value, backend)


def parse_segments(specs: Sequence[str]) -> tuple[Segment, ...]:
    """The segments, in order; ValueError for the first malformed one, for a segment given
    twice, or for more than MAX_SEGMENTS."""
    if isinstance(specs, str):  # one spec is not a list of its characters
        raise ValueError(f"segments must be a list of KIND:NAME=VALUE->BACKEND, not {specs!r}")
    if len(specs) > MAX_SEGMENTS:
        raise ValueError(f"{len(specs)} segments; a flag takes at most {MAX_SEGMENTS}")
    segments = tuple(parse_segment(spec) for spec in specs)
    rules = [segment[:3] for segment in segments]
    for index, rule in enumerate(rules):
        if rule in rules[:index]:
            raise ValueError(f"segment {str(segments[index])!r} is given twice")
    return segments


def matching(segments: Sequence[Segment], headers: Headers) -> Segment | None:
    """The first of `segments` the request with these (ASGI) headers matches, or None.

    It runs on every request to an endpoint with segments (routing's budget is 10 microseconds
    a decision): the headers are first made a dict in C, so a segment whose header the request
    does not send (the usual case) costs a lookup; only a header that is there is looked at
    in the loop below, which sees every copy of it."""
    if not isinstance(headers, list | tuple):  # read twice below: a dict, then one's copies
        headers = list(headers)
    named = dict(headers)
    for segment in segments:
        kind = segment.kind
        if kind == "header":
            name = segment.name.encode("latin-1")
            if name not in named:
                continue
            for key, value in headers:
                if key == name and value.decode("latin-1").strip() == segment.value:
                    return segment
        elif kind == "cookie":
            if b"cookie" not in named:
                continue
            wanted = f"{segment.name}={segment.value}"
            for key, value in headers:  # browsers may send several Cookie headers
                if key == b"cookie":
                    for part in value.decode("latin-1").split(";"):
                        if part.strip() == wanted:
                            return segment
        elif b"authorization" in named:
            for key, value in headers:
                if key == b"authorization":
                    if _claim_is(claims.payload(value), segment.name, segment.value):
                        return segment
                    break
    return None


def _claim_is(payload: Mapping[str, Any] | None, claim: str, wanted: str) -> bool:
    """Whether the token's `claim` is `wanted`, or a list holding it."""
    if payload is None or claim not in payload:
        return False
    found = payload[claim]
    if isinstance(found, list):
        return any(claims.claim_text(item) == wanted for item in found)
    return claims.claim_text(found) == wanted
