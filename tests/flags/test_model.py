"""Flags, and the checks a flag is built through (strangler.flags.model)."""

from __future__ import annotations

import pytest

from strangler.flags.model import Flag


@pytest.mark.parametrize(
    ("mode", "percentage", "message"),
    [
        ("sideways", None, "unknown mode"),
        ("canary", None, "needs a percentage"),
        ("canary", 100.5, "out of range"),
        ("canary", -1, "out of range"),
        ("canary", float("nan"), "out of range"),
        ("migrated", 30, "goes with mode 'canary'"),
        ("legacy", 100, "goes with mode 'canary'"),
        ("migrated", 0, "goes with mode 'canary'"),
    ],
)
def test_invalid_flags_are_refused_with_a_reason(
    mode: str, percentage: float | None, message: str
) -> None:
    """Bad modes and percentages raise InvalidFlag saying what is allowed."""
    from strangler.flags.errors import InvalidFlag

    with pytest.raises(InvalidFlag, match=message):
        Flag.build(mode, percentage)
