"""Isolating one cause in a failing fuzzed request (strangler.contracts.shrink, #24)."""

from __future__ import annotations

import math
from collections.abc import Hashable

from strangler.comparison.cases import Request
from strangler.contracts.shrink import isolate, simpler

DEFAULTS = Request("POST", "/items", {"Authorization": "Token t"})
DOUBLED = ["application/json", "application/json"]
TWO_CAUSES = Request(
    "POST",
    "/items",
    {"Authorization": "Token t", "Content-Type": DOUBLED},
    {"debug": "1"},
    json={"name": "pen", "qty": math.nan, "tags": ["a", "b"]},
)


def bad_qty(request: Request) -> frozenset[Hashable]:
    """Differs (in its status) only where the body's `qty` is NaN: the doubled header is noise."""
    qty = request.json.get("qty") if isinstance(request.json, dict) else None
    return frozenset({"status"}) if isinstance(qty, float) and math.isnan(qty) else frozenset()


def test_a_doubled_content_type_that_is_not_the_cause_is_dropped() -> None:
    """The shrunk request keeps the bad field and nothing else that differs from the defaults."""
    shrunk = isolate(TWO_CAUSES, DEFAULTS, bad_qty, frozenset({"status"}))
    assert shrunk.headers == {"Authorization": "Token t"}
    assert shrunk.query == {}
    assert shrunk.json == {"qty": shrunk.json["qty"]}
    assert math.isnan(shrunk.json["qty"])


def test_of_two_real_causes_one_is_kept() -> None:
    """Where the doubled header and the bad field each cause a difference of their own, the
    shrunk request carries one of them, and only its difference."""

    def both(request: Request) -> frozenset[Hashable]:
        doubled = request.headers.get("Content-Type") == DOUBLED
        return bad_qty(request) | (frozenset({"header:content-type"}) if doubled else frozenset())

    shrunk = isolate(TWO_CAUSES, DEFAULTS, both, frozenset({"status", "header:content-type"}))
    assert len(both(shrunk)) == 1


def test_a_simpler_request_with_a_new_difference_is_not_kept() -> None:
    """Dropping the field that keeps the request valid makes it differ elsewhere: not kept."""

    def needs_name(request: Request) -> frozenset[Hashable]:
        body = request.json if isinstance(request.json, dict) else {}
        return bad_qty(request) if "name" in body else frozenset({"$.error"})

    shrunk = isolate(TWO_CAUSES, DEFAULTS, needs_name, frozenset({"status"}))
    assert set(shrunk.json) == {"name", "qty"}


def test_the_tries_are_bounded() -> None:
    """A verdict that never accepts is asked at most `tries` times."""
    asked = []

    def never(request: Request) -> frozenset[Hashable]:
        asked.append(request)
        return frozenset()

    assert isolate(TWO_CAUSES, DEFAULTS, never, frozenset({"status"}), tries=5) is TWO_CAUSES
    assert len(asked) == 5


def test_simpler_requests_restore_the_files_headers() -> None:
    """A default header that was garbled or dropped is offered back at its default value."""
    garbled = Request("POST", "/items", {"Authorization": None})
    dropped = Request("POST", "/items", {})
    for request in (garbled, dropped):
        assert any(c.headers == DEFAULTS.headers for c in simpler(request, DEFAULTS))
