"""Dashboard sessions: the admin credential, given once at the login form, exchanged for a
signed cookie (HttpOnly, SameSite=Strict) naming the credential; and the cross-site checks every
change passes.

The cookie is itsdangerous's URL-safe, timestamped serialization of `[name, csrf, digest]`: the
credential's name, the token forms must send back, and a keyed digest of the credential's token
(a rotated token ends its sessions). It is signed with a key every worker of the gateway derives
from the same credentials (`Credentials.secret()`), and refused once older than LIFETIME.
Nothing is kept server-side, so any worker serves any session.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
from typing import NamedTuple

from itsdangerous import BadData, URLSafeTimedSerializer

from strangler.credentials import Credential, Credentials

COOKIE = "strangler_session"
LIFETIME = 8 * 3600  # seconds
# Keeps a dashboard cookie from verifying as anything else signed with the same key, and back.
_SALT = "strangler.dashboard.session"


class Session(NamedTuple):
    credential: Credential
    csrf: str


def _serializer(key: bytes) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(key, salt=_SALT, signer_kwargs={"digest_method": hashlib.sha256})


def _digest(key: bytes, token: str) -> str:
    """A keyed digest of the credential's token: a leaked cookie tells nothing about it. The key
    already changes with any token, but not in development mode with STRANGLER_SESSION_SECRET;
    the digest ends a session whenever its own credential's token changes."""
    return hmac.new(key, b"token\n" + token.encode(), hashlib.sha256).hexdigest()[:16]


def issue(credentials: Credentials, credential: Credential) -> str:
    """The cookie value of a new session for `credential`."""
    key = credentials.secret()
    payload = [credential.name, secrets.token_urlsafe(18), _digest(key, credential.token)]
    return _serializer(key).dumps(payload)


def read(credentials: Credentials, value: str | None) -> Session | None:
    """The session a cookie holds, or None: forged, expired, or its credential gone or
    rotated."""
    if not value or not value.isascii():  # a browser's garbage, never one of our cookies
        return None
    key = credentials.secret()
    try:
        payload = _serializer(key).loads(value, max_age=LIFETIME)
    except BadData:  # a bad signature, an expired one, or a payload that is not ours
        return None
    if not (isinstance(payload, list) and len(payload) == 3):
        return None
    if not all(isinstance(part, str) for part in payload):
        return None
    name, csrf, digest = payload
    credential = credentials.named(name)
    expected = _digest(key, credential.token) if credential is not None else ""
    if credential is None or not hmac.compare_digest(digest.encode(), expected.encode()):
        return None
    return Session(credential, csrf)


def same_origin(headers: dict[str, str], host: str) -> bool:
    """Whether a change comes from the dashboard's own pages: the browser's Sec-Fetch-Site, or
    failing that its Origin, must say so (a browser sends one of them with every form post).
    The Origin's host is compared, not its scheme: behind a TLS proxy the gateway sees http."""
    site = headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = headers.get("origin")
    if origin is not None:
        return origin.partition("://")[2] == host
    return True  # not a browser (curl, a test client): the CSRF token alone guards it


# host[:port]: a name of letters, digits, '-', '_' and dots (an IPv4 address is one), or an IPv6
# address in brackets; the port digits. Nothing else: no user part, no second colon.
_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOST = re.compile(
    rf"(?P<name>{_LABEL}(?:\.{_LABEL})*|\[(?P<ip6>[0-9A-Fa-f:.]+)\])(?::[0-9]{{1,5}})?"
)


def host_name(host: str | None) -> str | None:
    """The name of a Host header's value, lower case: `Example.com:8000` -> `example.com`,
    `[::1]:8000` -> `[::1]`; None unless the value is exactly host[:port] (no Host, an empty
    one, `evil.com:127.0.0.1`, `127.0.0.1@evil.com`)."""
    found = _HOST.fullmatch(host or "")
    if found is None:
        return None
    if found["ip6"] is not None:
        try:
            ipaddress.IPv6Address(found["ip6"])
        except ValueError:
            return None
    return found["name"].lower()
