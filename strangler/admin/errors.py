"""Errors of the admin API, on both ends of the wire.

StranglerError
 └── AdminError               an admin call failed; raised as is by the CLI's remote operations
      ├── AdminUnauthorized   a request to this gateway's admin API lacks the credential (401)
      ├── AdminForbidden      a read credential asked for a change (403)
      └── ResetUnavailable    POST /contract/reset cannot run here: no hook, or not allowed (409)
"""

from __future__ import annotations

from strangler.errors import StranglerError


class AdminError(StranglerError):
    """An admin call failed. Raised as is by the CLI's remote operations when a running gateway
    cannot be reached or refuses (its 401 or 403 included); the admin API raises the subclasses."""


class AdminUnauthorized(AdminError):
    """A request to the admin API came without the admin credential; answered 401."""


class AdminForbidden(AdminError):
    """A read credential asked for a change; answered 403."""


class ResetUnavailable(AdminError):
    """The contract reset hook cannot run in this gateway: none is configured, or the gateway
    serves real traffic and `contract_reset_live` does not allow it; answered 409."""
