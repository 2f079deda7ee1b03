"""State both apps of the setup pair share: users, articles, and a count of logins.

Answers carry what a real app's setup answers carry: a creation time to the microsecond and a
fresh token on every login (its `iat` and a random `jti`), so two plays of one setup never give
the same answer, though both come from legacy.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from typing import Any

import jwt

SECRET = "setup-pair-tests-only-secret-key-32b"

users: dict[str, dict[str, str]] = {}  # by username
articles: dict[str, dict[str, Any]] = {}  # by slug
logins = [0]  # logins answered since the module was loaded (a reset leaves it)


def now() -> str:
    return datetime.now(UTC).isoformat()


def password_hash(password: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), b"setup-pair", 1000).hex()


def add_user(username: str, email: str, password: str) -> dict[str, str]:
    users[username] = {
        "username": username,
        "email": email,
        "password_hash": password_hash(password),
        "createdAt": now(),
    }
    return users[username]


def token_for(username: str) -> str:
    claims = {"sub": username, "iat": datetime.now(UTC), "jti": secrets.token_hex(8)}
    return jwt.encode(claims, SECRET, algorithm="HS256")


def user_of(authorization: str | None) -> dict[str, str] | None:
    """The user an `Authorization: Token ...` header names, if its token is good."""
    if not authorization or not authorization.startswith("Token "):
        return None
    try:
        claims = jwt.decode(authorization[6:], SECRET, algorithms=["HS256"])
    except jwt.InvalidTokenError:
        return None
    return users.get(str(claims.get("sub")))


def reset() -> None:
    """The contract reset hook: fresh state, with `ann` (password `ann-pass`) registered."""
    users.clear()
    articles.clear()
    add_user("ann", "ann@example.org", "ann-pass")
