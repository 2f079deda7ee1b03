"""Dashboard sessions: the admin credential, given once at the login form, exchanged for a
signed cookie (HttpOnly, SameSite=Strict) naming the credential; and the cross-site checks every
change passes.

A session is `name.expiry.csrf.digest.signature`: the credential's name, when the session ends,
the token forms must send back, a digest of the credential's token (a rotated token ends its
sessions), and an HMAC of the rest with a key every worker of the gateway derives from the same
credentials. Nothing is kept server-side, so any worker serves any session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import NamedTuple

from strangler.admin.auth import Credential, Credentials

COOKIE = "strangler_session"
LIFETIME = 8 * 3600.0  # seconds


class Session(NamedTuple):
    credential: Credential
    csrf: str


def _digest(key: bytes, token: str) -> str:
    """A keyed digest of the credential's token: a leaked cookie tells nothing about it."""
    return hmac.new(key, b"token\n" + token.encode(), hashlib.sha256).hexdigest()[:16]


def _sign(key: bytes, text: str) -> str:
    mac = hmac.new(key, text.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def issue(credentials: Credentials, credential: Credential, now: float | None = None) -> str:
    """The cookie value of a new session for `credential`."""
    key = credentials.secret()
    expiry = int((now or time.time()) + LIFETIME)
    body = (
        f"{credential.name}.{expiry}.{secrets.token_urlsafe(18)}.{_digest(key, credential.token)}"
    )
    return f"{body}.{_sign(key, body)}"


def read(credentials: Credentials, value: str | None, now: float | None = None) -> Session | None:
    """The session a cookie holds, or None: forged, expired, or its credential gone or
    rotated."""
    if not value or not value.isascii() or value.count(".") < 4:
        return None
    key = credentials.secret()
    body, _, signature = value.rpartition(".")
    if not hmac.compare_digest(signature.encode(), _sign(key, body).encode()):
        return None
    name, expiry, csrf, digest = body.rsplit(".", 3)  # a name may hold dots; the rest cannot
    if not expiry.isdigit() or int(expiry) < (now or time.time()):
        return None
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


def host_name(host: str) -> str:
    """`example.com:8000` -> `example.com`; `[::1]:8000` -> `[::1]`."""
    return host.rsplit(":", 1)[0] if host.count(":") == 1 or "]:" in host else host
