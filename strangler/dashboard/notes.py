"""The notes the dashboard shows after a change: what was done (a message) or why not (an
error). They travel in the query of the redirect back to the overview, signed with the sessions'
key, so the dashboard's boxes show only what the dashboard said: a link from elsewhere carrying
`?error=...` of its author's choosing shows nothing. A note is good for LIFETIME seconds.
"""

from __future__ import annotations

import hashlib

from itsdangerous import BadData, TimestampSigner

LIFETIME = 300  # seconds: the redirect is followed at once; a note is not a bookmark
_SALT = "strangler.dashboard.note."


def _signer(key: bytes, kind: str) -> TimestampSigner:
    return TimestampSigner(key, salt=_SALT + kind, digest_method=hashlib.sha256)


def signed(key: bytes, kind: str, text: str) -> str:
    """`text` (a note of `kind`: message or error) with its signature, for the query."""
    return _signer(key, kind).sign(text).decode()


def read(key: bytes, kind: str, value: str | None) -> str | None:
    """The text of a note of `kind` the dashboard signed, or None (none, forged, stale)."""
    if not value:
        return None
    try:
        return _signer(key, kind).unsign(value, max_age=LIFETIME).decode()
    except (BadData, UnicodeError):
        return None
