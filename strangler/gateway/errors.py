"""Errors of the request path.

StranglerError
 └── GatewayError
      ├── ForceRefused        the force header came without the admin credential (401)
      └── LifespanError       the migrated app reported that its startup or shutdown failed
"""

from __future__ import annotations

from strangler.errors import StranglerError


class GatewayError(StranglerError):
    """The gateway refused a request, or one of its apps failed around it."""


class ForceRefused(GatewayError):
    """X-Strangler-Force-Backend came without a valid admin token, or named no backend."""


class LifespanError(GatewayError):
    """The migrated app reported that its startup or shutdown failed."""
