"""Flags, and the checks a flag is built through (strangler.flags.model)."""

from __future__ import annotations

import pytest

from strangler.flags.errors import InvalidFlag
from strangler.flags.model import MAX_TEXT, Flag, bounded
from strangler.routing.segments import Segment
from strangler.types import Backend, Mode


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


TENANT = "header:X-Tenant=acme->migrated"


def test_a_flag_with_segments_reads_back_from_its_dict() -> None:
    """`to_dict` writes the segments as their specs, only when there are any; `from_dict` reads
    them back; a malformed one stored is a ValueError, never half a flag."""
    flag = Flag.build("canary", 10).with_segments([TENANT, "cookie:beta=1->legacy"])
    data = flag.to_dict()
    assert data["segments"] == ["header:x-tenant=acme->migrated", "cookie:beta=1->legacy"]
    assert Flag.from_dict(data) == flag
    assert "segments" not in Flag.build("canary", 10).to_dict()
    with pytest.raises(ValueError, match="unknown kind"):
        Flag.from_dict({**data, "segments": ["path:x=1->migrated"]})
    with pytest.raises(ValueError, match="not a list"):
        Flag.from_dict({**data, "segments": TENANT})


def test_segments_are_refused_on_off_and_a_hand_made_segment_is_checked() -> None:
    """Mode off takes no segments; a segment made by hand that its spec would not give (a
    header name with a space, a backend that is a plain string) is refused by `checked`."""
    with pytest.raises(InvalidFlag, match="takes no segments"):
        Flag.build("off").with_segments([TENANT])
    bad_name = Segment("header", "x tenant", "acme", Backend.MIGRATED)
    with pytest.raises(InvalidFlag, match="not a valid header name"):
        Flag(Mode.LEGACY, segments=(bad_name,)).checked()
    plain = Segment("header", "x-tenant", "acme", "migrated")  # type: ignore[arg-type]
    with pytest.raises(InvalidFlag, match="not what their specs say"):
        Flag(Mode.LEGACY, segments=(plain,)).checked()


def test_a_flip_keeps_segments_unless_to_legacy_or_told() -> None:
    """`routed_as` keeps the segments on a change to canary or migrated, drops them on a
    change to legacy (a rollback sends everyone back), and takes the change's own if given."""
    current = Flag.build("canary", 5).with_segments([TENANT])
    assert current.routed_as(Flag.build("canary", 50)).segments == current.segments
    assert current.routed_as(Flag.build("migrated")).segments == current.segments
    assert current.routed_as(Flag.build("legacy")).segments == ()
    assert current.routed_as(Flag.build("canary", 50), segments_given=True).segments == ()
    pinned = Flag.build("legacy").with_segments(["cookie:beta=1->migrated"])
    assert current.routed_as(pinned, segments_given=True).segments == pinned.segments
