"""What the sandbox raises: a sandboxed call that would have touched the world, or a database
whose writes a sandbox cannot throw away."""

from __future__ import annotations

from strangler.errors import StranglerError


class SandboxError(StranglerError):
    """The sandbox cannot keep a call's effects from the world; nothing was committed."""


class UncoveredDatabase(SandboxError):
    """A sandboxed call opened a connection on a database engine the sandbox does not cover:
    it was stopped before it could write (the call fails; the comparison is skipped, not
    counted)."""


class RollbackCheckFailed(SandboxError):
    """The self-check wrote in a sandbox and could read the write from outside it: that
    database's writes would leak, so no unsafe method may be shadowed."""
