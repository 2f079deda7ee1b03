"""Where a canary caller's sticky identifier comes from, chosen by configuration.

    jwt:CLAIM      a claim of the bearer token in Authorization (e.g. `jwt:user`)
    header:NAME    a request header (e.g. `header:X-Client-Id`)
    cookie:NAME    a cookie (e.g. `cookie:session`)
    client         the client's IP address

A caller without one gets a random bucket on each request.
"""

from __future__ import annotations

from collections.abc import Callable

from strangler.errors import ConfigError
from strangler.routing import claims
from strangler.types import Scope

StickySource = Callable[[Scope], str | None]


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def jwt_claim(claim: str) -> StickySource:
    """Reads a claim of the bearer token without verifying it (strangler.routing.claims: the
    token as segments read it, its payload decoded once per token).

    Verification is the app's job; here the claim only picks a bucket, and a forged claim can do
    no more than pick another bucket.
    """

    def source(scope: Scope) -> str | None:
        value = _header(scope, b"authorization")
        if not value:
            return None
        payload = claims.payload(value)
        found = None if payload is None else payload.get(claim)
        return None if found is None else claims.claim_text(found)

    return source


def header(name: str) -> StickySource:
    wanted = name.lower().encode("latin-1")

    def source(scope: Scope) -> str | None:
        value = _header(scope, wanted)
        return value.decode("latin-1") if value else None

    return source


def cookie(name: str) -> StickySource:
    prefix = name + "="

    def source(scope: Scope) -> str | None:
        # Browsers may send several Cookie headers; look in each.
        for key, value in scope["headers"]:
            if key == b"cookie":
                for part in value.decode("latin-1").split(";"):
                    part = part.strip()
                    if part.startswith(prefix):
                        return part[len(prefix) :] or None
        return None

    return source


def client(scope: Scope) -> str | None:
    peer = scope.get("client")
    return str(peer[0]) if peer else None


def parse_sticky(spec: str) -> StickySource:
    """Builds the source from its configuration string; raises ConfigError if malformed."""
    kind, _, arg = spec.partition(":")
    if kind == "client" and not arg:
        return client
    builders: dict[str, Callable[[str], StickySource]] = {
        "jwt": jwt_claim,
        "header": header,
        "cookie": cookie,
    }
    if kind in builders and arg:
        return builders[kind](arg)
    raise ConfigError(
        f"sticky = {spec!r} is not understood; use 'jwt:CLAIM', 'header:NAME', 'cookie:NAME'"
        " or 'client'"
    )
