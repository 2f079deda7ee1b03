"""Errors of rollouts: a plan refused, or an action on a rollout that cannot be taken.

StranglerError
 └── RolloutError            a rollout action was refused; nothing was written
      ├── InvalidPlan            bad steps, interval, request count or criteria
      └── NoRollout              no rollout of that endpoint to pause, resume or abort
"""

from __future__ import annotations

from strangler.errors import StranglerError


class RolloutError(StranglerError):
    """A rollout action was refused; the store is unchanged."""

    def __init__(self, message: str, *, endpoint: str | None = None) -> None:
        super().__init__(message)
        self.endpoint = endpoint


class InvalidPlan(RolloutError):
    """The plan's steps, interval, request count or criteria are wrong."""


class NoRollout(RolloutError):
    """The endpoint has no rollout that can take the action."""
