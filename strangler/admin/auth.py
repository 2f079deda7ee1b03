"""The admin credential: how a request presents it, and how it is checked.

The token comes from STRANGLER_ADMIN_TOKEN. It guards the admin API and the gateway's force
header; it is compared in constant time, and an empty token is no token, never a match for "".
"""

from __future__ import annotations

import hmac

ADMIN_TOKEN_HEADER = "x-strangler-admin-token"


def token_matches(given: str | None, expected: str | None, *, dev_mode: bool) -> bool:
    """Whether a request carries the admin credential (always, in development mode)."""
    if not expected:
        return dev_mode
    return bool(given) and hmac.compare_digest(str(given).encode(), expected.encode())


def presented_token(authorization: str | None, admin_header: str | None) -> str | None:
    """The token a request carries: `X-Strangler-Admin-Token`, else `Authorization: Bearer`."""
    if admin_header:
        return admin_header
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None
