"""The normalisation pipeline, step by step, and the diff."""

from __future__ import annotations

import dataclasses
import math

from strangler.comparison.cases import Rules
from strangler.comparison.compare import (
    ABSENT,
    Answer,
    Conforms,
    check_patterns,
    check_types,
    compare,
    decode_body,
    diff_json,
    drop_ignored,
    keep_headers,
    same_scalar,
    unorder_header_lists,
    view,
)


def answer(body: bytes = b"{}", status: int = 200, **headers: str) -> Answer:
    return Answer(status, tuple((k.replace("_", "-"), v) for k, v in headers.items()), body)


def test_keep_headers_keeps_every_header_but_the_volatile_ones() -> None:
    """By default every header is compared except Date, Server and the framing (#24)."""
    current = view(
        answer(
            content_type="application/json",
            access_control_allow_origin="*",
            date="now",
            server="uvicorn",
            content_length="2",
            transfer_encoding="chunked",
            connection="close",
        )
    )
    assert keep_headers(current, Rules()).headers == {
        "content-type": "application/json",
        "access-control-allow-origin": "*",
    }


def test_keep_headers_keeps_only_the_named_ones_when_the_rules_name_them() -> None:
    """`headers: [names]` compares those headers alone, as before #24."""
    current = view(answer(content_type="application/json", cache_control="no-store"))
    named = Rules().merged({"headers": ["Content-Type"]})
    assert keep_headers(current, named).headers == {"content-type": "application/json"}


def test_ignore_headers_add_to_the_volatile_ones() -> None:
    """`ignore_headers` leaves more headers out, on top of the volatile ones, any case."""
    rules = Rules().merged({"ignore_headers": ["ETag"]})
    current = view(answer(etag='"1"', date="now", vary="Origin"))
    assert keep_headers(current, rules).headers == {"vary": "Origin"}
    assert keep_headers(current, rules.merged({"headers": "all"})).headers == {"vary": "Origin"}


def test_set_cookie_is_left_to_the_cookie_rules() -> None:
    """Every header is compared, but a Set-Cookie line only by the cookie rules (no value)."""
    ours = with_cookies("session=abc; HttpOnly; Path=/")
    theirs = with_cookies("session=xyz; Path=/; HttpOnly")
    assert compare(ours, theirs, Rules()) == []


def test_a_header_on_one_side_only_is_a_difference_named_by_it() -> None:
    """A port that forgets Access-Control-Allow-Origin differs at that header (#24)."""
    legacy = answer(access_control_allow_origin="https://app.example", vary="Origin")
    migrated = answer()
    found = [(d.where, d.legacy, d.migrated) for d in compare(legacy, migrated, Rules())]
    assert found == [
        ("header:access-control-allow-origin", "https://app.example", ABSENT),
        ("header:vary", "Origin", ABSENT),
    ]


def test_a_header_only_the_port_sends_is_a_difference() -> None:
    """A Cache-Control legacy never sent is a difference (a cache would keep the answer)."""
    found = compare(answer(), answer(cache_control="max-age=3600"), Rules())
    assert [(d.where, d.legacy, d.migrated) for d in found] == [
        ("header:cache-control", ABSENT, "max-age=3600")
    ]


def test_list_headers_are_compared_as_sets() -> None:
    """Vary, Allow, CORS lists and Cache-Control directives: order and repeats carry no
    meaning; a missing item still differs."""
    legacy = answer(
        vary="Origin, Accept-Encoding",
        allow="GET, HEAD, OPTIONS",
        access_control_allow_methods="GET, POST",
        access_control_allow_headers="Authorization, Content-Type",
        access_control_expose_headers="ETag, Link",
        cache_control="no-cache, max-age=0",
    )
    reordered = answer(
        vary="Accept-Encoding, Origin, Origin",
        allow="OPTIONS,HEAD,GET",
        access_control_allow_methods="POST, GET",
        access_control_allow_headers="Content-Type, Authorization",
        access_control_expose_headers="Link, ETag",
        cache_control="max-age=0, no-cache",
    )
    assert compare(legacy, reordered, Rules()) == []
    fewer = dataclasses.replace(reordered, headers=(("vary", "Accept-Encoding"),))
    assert "header:vary" in [d.where for d in compare(legacy, fewer, Rules())]


def test_unorder_header_lists_sorts_allow() -> None:
    """`Allow: POST, OPTIONS` equals `Allow: OPTIONS, POST`."""
    current = view(answer(allow="POST, OPTIONS"))
    assert unorder_header_lists(current, Rules()).headers["allow"] == "OPTIONS, POST"


def test_decode_body_accepts_nan_and_leaves_non_json_as_bytes() -> None:
    """JSON bodies are decoded (NaN included); anything else stays bytes."""
    decoded = decode_body(view(answer(b'{"a": NaN}')), Rules())
    assert decoded.is_json
    assert math.isnan(decoded.json["a"])
    assert not decode_body(view(answer(b"<html>")), Rules()).is_json
    assert not decode_body(view(answer(b"{}")), Rules(body="bytes")).is_json


def test_drop_ignored_removes_the_named_paths() -> None:
    """`ignore` paths vanish from the body before the diff."""
    current = decode_body(view(answer(b'{"a": 1, "b": 2}')), Rules())
    assert drop_ignored(current, Rules(ignore=("$.a",))).json == {"b": 2}


def test_check_types_replaces_values_of_the_declared_type() -> None:
    """A value of the declared type becomes a marker; another type stays to be reported."""
    rules = Rules(types={"$.at": "string", "$.n": "number"})
    good = check_types(decode_body(view(answer(b'{"at": "x", "n": 3}')), Rules()), rules)
    bad = check_types(decode_body(view(answer(b'{"at": 5}')), Rules()), rules)
    assert good.json == {"at": Conforms("string"), "n": Conforms("number")}
    assert bad.json == {"at": 5}


def test_check_patterns_marks_matching_strings() -> None:
    """A string matching the declared pattern becomes a marker naming the pattern."""
    rules = Rules(patterns={"$.t": r"\d+"})
    current = check_patterns(decode_body(view(answer(b'{"t": "123"}')), Rules()), rules)
    assert current.json == {"t": Conforms(r"matches \d+")}


def test_compare_reports_status_headers_and_json_paths() -> None:
    """Each difference names where it is and both values."""
    legacy = answer(b'{"error": "Missing"}', 400, content_type="application/json")
    migrated = answer(b'{"detail": []}', 422, content_type="application/json")
    found = [(d.where, d.legacy, d.migrated) for d in compare(legacy, migrated, Rules())]
    assert found == [
        ("status", 400, 422),
        ("$.error", "Missing", ABSENT),
        ("$.detail", ABSENT, []),
    ]


def test_compare_falls_back_to_bytes_when_a_side_is_not_json() -> None:
    """A JSON answer against an HTML page is one `body` difference."""
    found = compare(answer(b"{}"), answer(b"<html>"), Rules())
    assert [d.where for d in found] == ["body"]


def test_diff_json_names_list_items_and_missing_ones() -> None:
    """Lists are compared item by item; a missing item is reported as absent."""
    found = diff_json({"p": [1, 2]}, {"p": [1, 3, 4]})
    assert [(d.where, d.legacy, d.migrated) for d in found] == [
        ("$.p[1]", 2, 3),
        ("$.p[2]", ABSENT, 4),
    ]


def test_same_scalar_is_strict_by_default_and_tolerant_on_request() -> None:
    """1 is not 1.0 nor true; NaN equals NaN; a tolerance makes close numbers equal."""
    assert not same_scalar(1, 1.0)
    assert not same_scalar(1, True)
    assert same_scalar(math.nan, math.nan)
    assert not same_scalar(0.1 + 0.2, 0.3)
    assert same_scalar(0.1 + 0.2, 0.3, tolerance=1e-9)
    assert same_scalar(1, 1.0, tolerance=1e-9)
    assert not same_scalar(10**400, 10**400 + 1, tolerance=1e-9)


def with_cookies(*lines: str, **headers: str) -> Answer:
    return Answer(200, (*(("set-cookie", line) for line in lines), *headers.items()), b"{}")


def test_headers_are_compared_by_pattern_and_type() -> None:
    """`header:NAME` in patterns and types compares the header's shape, not its value."""
    rules = Rules().merged(
        {"patterns": {"header:x-request-id": "[0-9a-f]{8}"}, "types": {"header:x-count": "integer"}}
    )
    ours = with_cookies(**{"x-request-id": "0badcafe", "x-count": "3"})
    same_shape = with_cookies(**{"x-request-id": "deadbeef", "x-count": "12"})
    other_shape = with_cookies(**{"x-request-id": "not-hex!", "x-count": "twelve"})
    assert compare(ours, same_shape, rules) == []
    assert [d.where for d in compare(ours, other_shape, rules)] == [
        "header:x-count",
        "header:x-request-id",
    ]


def test_cookies_are_compared_by_name_pattern_and_presence() -> None:
    """`cookie:NAME` compares the cookie a Set-Cookie line sets: its shape, and that it is set."""
    rules = Rules().merged({"patterns": {"cookie:session": r"[\w.-]+"}, "cookie_attributes": False})
    ours = with_cookies("session=abc.def; HttpOnly; Path=/", "theme=dark")
    theirs = with_cookies("theme=light", "session=xyz-1; Path=/")
    none = with_cookies("theme=dark")
    assert compare(ours, theirs, rules) == []  # theme is not compared
    assert [(d.where, d.migrated) for d in compare(ours, none, rules)] == [
        ("cookie:session", ABSENT)
    ]


def test_every_set_cookie_line_must_match_a_header_pattern() -> None:
    """Several Set-Cookie lines are kept apart (an Expires holds a comma) and each must match."""
    rules = Rules().merged(
        {"patterns": {"header:set-cookie": r"\w+=[^;]*; Path=/.*"}, "cookie_attributes": False}
    )
    good = with_cookies("a=1; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT", "b=2; Path=/x")
    bad = with_cookies("a=1; Path=/", "b=2")
    assert compare(good, good, rules) == []
    assert [d.where for d in compare(good, bad, rules)] == ["header:set-cookie"]


def test_exact_compares_json_bytes_where_no_rule_applies() -> None:
    """`body: exact`: key order, spacing and the trailing newline count, unless a rule changed
    the body (a token checked by pattern differs in its bytes by nature)."""
    exact = Rules().merged({"body": "exact", "patterns": {"$.token": "t-.*"}})
    flask = answer(b'{"a":1,"b":2}\n')
    assert compare(flask, answer(b'{"b": 2, "a": 1}'), Rules()) == []
    assert [d.where for d in compare(flask, answer(b'{"b": 2, "a": 1}'), exact)] == ["body"]
    assert compare(answer(b'{"token":"t-1"}\n'), answer(b'{"token": "t-2"}'), exact) == []


def test_cookie_attributes_are_compared_by_default_and_values_are_not() -> None:
    """Clients act on HttpOnly, Path, SameSite and deletion, not on a session's signed value."""
    flask = with_cookies("session=abc; HttpOnly; Path=/")
    same = with_cookies("session=xyz; Path=/; HttpOnly")
    laxer = with_cookies("session=xyz; Path=/; SameSite=lax")
    deleted = with_cookies('session=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/')
    assert compare(flask, same, Rules()) == []
    assert [(d.where, d.migrated) for d in compare(flask, laxer, Rules())] == [
        ("set-cookie:session", "set; path=/; samesite=lax")
    ]
    assert compare(flask, deleted, Rules())[0].migrated == "deleted; expires; max-age; path=/"
