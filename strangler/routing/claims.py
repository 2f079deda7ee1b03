"""The claims of the JWT in a request's Authorization header, read without verifying it.

Segments (`claim:role=internal->migrated`) and the sticky identifier (`jwt:user`) read them
alike, from any of

    Authorization: Bearer TOKEN     Authorization: Token TOKEN
    Authorization: JWT TOKEN        Authorization: TOKEN

(the scheme in any case; any other scheme, Basic among them, holds no claims). The token is not
verified: a claim only picks a backend or a bucket, and both apps still check the token.

A caller sends the same token request after request, so its payload is decoded once and kept,
under a digest of the header: the table holds no token a thief could use. A header over
KEEP_HEADER bytes is decoded on each request and never kept, and the headers kept add up to at
most KEPT_BYTES (the table is emptied when they would pass it): a stream of new or huge tokens
costs no more memory than that (decoded JSON takes at most ~25 times its text: ~25 MiB).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from hashlib import blake2b
from typing import Any

KEEP_HEADER = 4096  # bytes: a JWT is a few hundred; a longer header is read each time
KEPT_BYTES = 1 << 20  # bytes of header text whose payloads a worker keeps at most
_SCHEMES = (b"bearer", b"token", b"jwt")

Claims = Mapping[str, Any]


class _Kept:
    """Payloads (None for a header with none) by the digest of their header."""

    def __init__(self) -> None:
        self.payloads: dict[bytes, Claims | None] = {}
        self.size = 0  # bytes of the headers they were read from


_KEPT = _Kept()


def payload(authorization: bytes) -> Claims | None:
    """The claims of the JWT in this Authorization header's value (read only: the mapping is
    shared by every request with the same token); None if it holds no JWT."""
    if len(authorization) > KEEP_HEADER:
        return _read(authorization)
    key = blake2b(authorization, digest_size=16).digest()
    kept = _KEPT
    try:
        return kept.payloads[key]
    except KeyError:
        pass
    if kept.size + len(authorization) > KEPT_BYTES:
        kept.payloads = {}
        kept.size = 0
    found = kept.payloads[key] = _read(authorization)
    kept.size += len(authorization)
    return found


def claim_text(value: Any) -> str:
    """A claim's value as text, as a segment's value is written and as the sticky identifier
    hashes it: a string as it is, anything else as JSON writes it (`true`, `3`, `["a"]`)."""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _read(authorization: bytes) -> Claims | None:
    words = authorization.split()
    if len(words) == 2 and words[0].lower() in _SCHEMES:
        token = words[1]
    elif len(words) == 1:
        token = words[0]
    else:
        return None
    parts = token.split(b".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + b"=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError, RecursionError):  # RecursionError: [[[[...]]]]
        return None
    return claims if isinstance(claims, dict) else None
