"""Token rules both apps share: HS256 JWTs, issued by /login and checked on the predict routes.

The check reproduces legacy exactly, quirks included: every `"Bearer "` in the header is removed
(so a bare token is accepted too), and any failure at all is reported as "Token is invalid".
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import jwt

logger = logging.getLogger(__name__)

ALGORITHM: Final = "HS256"
TOKEN_LIFETIME: Final = timedelta(hours=24)
DEV_SECRET: Final = "your-secret-key"

MISSING: Final = "Token is missing"
INVALID: Final = "Token is invalid"

_warned = threading.Event()


class TokenError(Exception):
    """Raised when a request's Authorization header does not carry a valid token.

    Its message is the exact text legacy answered with 401: "Token is missing" or
    "Token is invalid".
    """


def secret_key() -> str:
    """Returns env `ML_API_SECRET_KEY`, or the legacy dev default (with a loud warning, once)."""
    secret = os.environ.get("ML_API_SECRET_KEY")
    if secret:
        return secret
    if not _warned.is_set():
        _warned.set()
        logger.warning(
            "ML_API_SECRET_KEY is not set: signing tokens with the PUBLIC development secret %r. "
            "Anyone can forge tokens. Set ML_API_SECRET_KEY (32+ bytes) before serving traffic.",
            DEV_SECRET,
        )
    return DEV_SECRET


def issue_token(username: str, *, now: datetime | None = None) -> str:
    """Returns a token for `username` that expires 24 hours from `now` (default: the clock)."""
    issued_at = now or datetime.now(UTC)
    claims = {"user": username, "exp": issued_at + TOKEN_LIFETIME}
    return jwt.encode(claims, secret_key(), algorithm=ALGORITHM)


def check_authorization_header(value: str | None) -> dict[str, Any]:
    """Returns the token's claims, or raises TokenError with legacy's message."""
    if not value:
        raise TokenError(MISSING)
    # Legacy removed every occurrence, not just a leading prefix; clients rely on bare tokens.
    token = value.replace("Bearer ", "")
    try:
        claims: dict[str, Any] = jwt.decode(token, secret_key(), algorithms=[ALGORITHM])
    except Exception as exc:  # Legacy's bare `except:`: whatever goes wrong, the token is invalid.
        raise TokenError(INVALID) from exc
    return claims
