"""Errors of the admin API, on both ends of the wire.

StranglerError
 ├── AdminError               a call to a running gateway failed (unreachable, 401, bad answer)
 └── AdminUnauthorized        a request to this gateway's admin API lacks the credential (401)
"""

from __future__ import annotations

from strangler.errors import StranglerError


class AdminError(StranglerError):
    """A call to a running gateway's admin API failed (raised by the CLI's remote operations)."""


class AdminUnauthorized(StranglerError):
    """A request to the admin API came without the admin credential; answered 401."""


class AdminForbidden(StranglerError):
    """A read credential asked for a change; answered 403."""
