"""Flags, and the checks a flag is built through (strangler.flags.model)."""

from __future__ import annotations

import pytest

from strangler.flags.errors import InvalidFlag
from strangler.flags.model import MAX_TEXT, Flag, bounded
from strangler.types import Mode


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


@pytest.mark.parametrize(
    "flag",
    [
        Flag(Mode.CANARY, 500.0),
        Flag(Mode.CANARY, -1.0),
        Flag(Mode.MIGRATED, 100.0, shadow=1e9),
        Flag(Mode.LEGACY, 30.0),
        Flag(Mode.CANARY, float("inf")),
        Flag(Mode.MIGRATED, 100.0, 10.0, "x" * (MAX_TEXT + 1)),
    ],
    ids=["percentage-500", "percentage-minus-1", "shadow-1e9", "legacy-30", "infinite", "long"],
)
def test_a_flag_the_api_would_refuse_is_not_checked(flag: Flag) -> None:
    """`checked()` refuses any flag `Flag.build` would not have made (#22: store rows)."""
    with pytest.raises(InvalidFlag):
        flag.checked()


def test_free_text_is_bounded_by_one_rule() -> None:
    """Text up to MAX_TEXT characters passes; one more is refused, saying the limit."""
    assert bounded("x" * MAX_TEXT, "reason") == "x" * MAX_TEXT
    with pytest.raises(InvalidFlag, match="reason is 1,001 characters long; keep it to 1,000"):
        bounded("x" * (MAX_TEXT + 1), "reason")
