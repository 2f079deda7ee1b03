"""Segments (issue #25, item 4): parsing each kind, matching a request's headers, cookies and
token claims, in order, and refusing malformed rules with one line that says what is allowed."""

from __future__ import annotations

import base64
import json

import pytest

from strangler.flags.model import Flag
from strangler.routing.decision import Reason, decide
from strangler.routing.inventory import Endpoint
from strangler.routing.segments import (
    MAX_SEGMENTS,
    Segment,
    matching,
    parse_segment,
    parse_segments,
)
from strangler.types import Backend

BOTH = Endpoint("GET", "/x", frozenset(Backend))


def token(scheme: str = "Bearer", **claims: object) -> bytes:
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    return scheme.encode() + b" eyJhbGciOiJIUzI1NiJ9." + payload + b".c2ln"


def segmented(*specs: str, mode: str = "canary", percentage: float | None = 0) -> Flag:
    flag = Flag.build(mode, percentage if mode == "canary" else None)
    return flag.with_segments(list(specs))


def test_a_segment_reads_back_as_it_was_written() -> None:
    """Each kind parses to its parts and prints as its spec; a header's name is lower-cased."""
    cases = {
        "header:X-Tenant=acme->migrated": Segment("header", "x-tenant", "acme", Backend.MIGRATED),
        "cookie:beta=1->migrated": Segment("cookie", "beta", "1", Backend.MIGRATED),
        "claim:role=internal->legacy": Segment("claim", "role", "internal", Backend.LEGACY),
        "header:X-Plan=a=b->b->legacy": Segment("header", "x-plan", "a=b->b", Backend.LEGACY),
    }
    for spec, segment in cases.items():
        assert parse_segment(spec) == segment
        assert parse_segment(str(segment)) == segment


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("header:X-Tenant=acme", "names no backend"),
        ("header:X-Tenant=acme->canary", "use ->migrated or ->legacy"),
        ("query:tenant=acme->migrated", "unknown kind 'query'"),
        ("X-Tenant=acme->migrated", "unknown kind"),
        ("header:X-Tenant->migrated", "needs a name and a value"),
        ("header:=acme->migrated", "needs a name and a value"),
        ("header:X-Tenant=->migrated", "needs a name and a value"),
        ("header:X Tenant=acme->migrated", "not a valid header name"),
        ("cookie:a;b=1->migrated", "not a valid cookie name"),
        ("header:X-Tenant=ac\nme->migrated", "control character"),
        ("header:X-Tenant=" + "a" * 300 + "->migrated", "over 200 characters"),
    ],
)
def test_a_malformed_segment_is_refused_with_one_line(spec: str, says: str) -> None:
    """A malformed segment raises ValueError with one line naming the problem."""
    with pytest.raises(ValueError, match=says) as caught:
        parse_segment(spec)
    assert "\n" not in str(caught.value)


def test_a_list_of_segments_is_bounded_and_has_no_repeats() -> None:
    """Twice the same rule, too many rules, or one string instead of a list are refused."""
    with pytest.raises(ValueError, match="given twice"):
        parse_segments(["cookie:b=1->migrated", "cookie:b=1->legacy"])
    with pytest.raises(ValueError, match=f"at most {MAX_SEGMENTS}"):
        parse_segments([f"cookie:b={i}->migrated" for i in range(MAX_SEGMENTS + 1)])
    with pytest.raises(ValueError, match="must be a list"):
        parse_segments("cookie:b=1->migrated")  # type: ignore[arg-type]


def test_header_cookie_and_claim_segments_match_their_attribute() -> None:
    """Each kind matches the request attribute it names, exactly, and nothing else."""
    header, cookie, claim = parse_segments(
        ["header:X-Tenant=acme->migrated", "cookie:beta=1->migrated", "claim:role=staff->migrated"]
    )
    assert matching([header], [(b"x-tenant", b"acme")]) == header
    assert matching([header], [(b"x-tenant", b"Acme")]) is None
    assert matching([header], [(b"x-other", b"acme")]) is None
    # Every copy of a header is read, not only the last (the lookup that skips absent ones
    # keeps one value per name).
    assert matching([header], [(b"x-tenant", b"acme"), (b"x-tenant", b"other")]) == header
    assert matching([header], iter([(b"x-other", b"1"), (b"x-tenant", b"acme")])) == header
    assert matching([cookie], [(b"cookie", b"a=2; beta=1")]) == cookie
    assert matching([cookie], [(b"cookie", b"a=2"), (b"cookie", b"beta=1")]) == cookie
    assert matching([cookie], [(b"cookie", b"notbeta=1; beta=10")]) is None
    assert matching([claim], [(b"authorization", token(role="staff"))]) == claim
    assert matching([claim], [(b"authorization", token("Token", role="staff"))]) == claim
    assert matching([claim], [(b"authorization", token("bearer", role="staff"))]) == claim
    assert matching([claim], [(b"authorization", token(role="user"))]) is None
    assert matching([claim], [(b"x-role", b"staff")]) is None


def test_a_claim_segment_reads_lists_and_plain_values_and_ignores_other_schemes() -> None:
    """A list claim matches one of its items, a boolean as JSON writes it; a Basic credential,
    a token that is not a JWT, or a payload that is not JSON match nothing."""
    roles, admin = parse_segments(["claim:roles=internal->migrated", "claim:admin=true->legacy"])
    assert matching([roles], [(b"authorization", token(roles=["a", "internal"]))]) == roles
    assert matching([admin], [(b"authorization", token(admin=True))]) == admin
    for value in (
        token("Basic", roles=["internal"]),
        b"Bearer not-a-jwt",
        b"Bearer a.%%%.c",
        b"Bearer a.bm90IGpzb24.c",  # "not json"
        b"Bearer",
    ):
        assert matching([roles], [(b"authorization", value)]) is None


def test_segments_come_before_the_percentage_and_stickiness() -> None:
    """A request matching a segment goes to its backend under any mode or percentage, with the
    reason `segment`, and the caller's identifier is never asked for."""

    def identify() -> str:
        raise AssertionError("a matched segment needs no sticky identifier")

    headers = [(b"x-tenant", b"acme")]
    for flag in (
        segmented("header:X-Tenant=acme->migrated", percentage=0),
        segmented("header:X-Tenant=acme->migrated", percentage=50),
        segmented("header:X-Tenant=acme->migrated", mode="legacy"),
    ):
        decision = decide(BOTH, flag, 3, identify, headers)
        assert (decision.backend, decision.reason, decision.bucket) == (
            Backend.MIGRATED,
            Reason.SEGMENT,
            None,
        )
    held = segmented("header:X-Tenant=acme->legacy", mode="migrated")
    assert decide(BOTH, held, 3, identify, headers).backend is Backend.LEGACY


def test_the_first_matching_segment_wins() -> None:
    """Segments are tried in order: the first the request matches chooses the backend."""
    flag = segmented("cookie:beta=1->legacy", "header:X-Tenant=acme->migrated", percentage=50)
    both = [(b"x-tenant", b"acme"), (b"cookie", b"beta=1")]
    assert decide(BOTH, flag, 1, headers=both).backend is Backend.LEGACY
    assert decide(BOTH, flag, 1, headers=both[:1]).backend is Backend.MIGRATED


def test_a_request_matching_no_segment_falls_through_to_the_mode_and_percentage() -> None:
    """Without a match, the flag routes as it would without segments: its mode, or the split."""
    flag = segmented("header:X-Tenant=acme->migrated", percentage=0)
    other = [(b"x-tenant", b"other")]
    assert decide(BOTH, flag, 1, headers=other).reason is Reason.SPLIT
    assert decide(BOTH, flag, 1, headers=other).backend is Backend.LEGACY
    full = segmented("header:X-Tenant=acme->legacy", percentage=100)
    assert decide(BOTH, full, 1, headers=other).backend is Backend.MIGRATED
    half = segmented("header:X-Tenant=acme->migrated", percentage=50)
    decision = decide(BOTH, half, 1, lambda: "caller-1", other)
    assert decision.reason is Reason.SPLIT
    assert decision.bucket is not None


def test_a_flag_without_segments_never_reads_the_headers() -> None:
    """A flag with no segments decides as before: its headers are not even iterated."""

    class Untouchable:
        def __iter__(self) -> object:
            raise AssertionError("the headers were read for a flag without segments")

    decision = decide(BOTH, Flag.build("migrated"), 1, headers=Untouchable())  # type: ignore[arg-type]
    assert decision.reason is Reason.STATIC


def test_huge_tokens_cost_no_memory_once_matched() -> None:
    """Distinct tokens of 32 KiB tried against a claim segment leave next to nothing in memory:
    a header that long is read each time, never kept (it held ~256 MiB at worst)."""
    import tracemalloc

    role = parse_segment("claim:role=internal->migrated")
    pad = "x" * 24 * 1024
    matching([role], [(b"authorization", token(role="internal", pad="warm-up"))])
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(100):
            huge = token(role="internal", pad=f"{n}{pad}")
            assert len(huge) > 32 * 1024
            assert matching([role], [(b"authorization", huge)]) == role
            del huge
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 256 * 1024, f"{grown} bytes kept for 100 tokens"


def test_a_claim_segment_reads_the_token_as_the_sticky_identifier_does() -> None:
    """A bare token and a `JWT` scheme are read too, as `sticky = "jwt:CLAIM"` reads them, so
    one token gives both the same claims (issue #25, review item 11)."""
    role = parse_segment("claim:role=internal->migrated")
    for scheme in ("JWT", "jwt"):
        assert matching([role], [(b"authorization", token(scheme, role="internal"))]) == role
    bare = token(role="internal").split(b" ", 1)[1]
    assert matching([role], [(b"authorization", bare)]) == role
    nested = b"Bearer e30." + base64.urlsafe_b64encode(b"[" * 5000).rstrip(b"=") + b".c2ln"
    assert matching([role], [(b"authorization", nested)]) is None
