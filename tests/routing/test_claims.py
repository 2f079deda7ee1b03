"""The claims of a request's JWT (strangler.routing.claims): read alike for segments and the
sticky identifier, decoded once per token, kept without the token and within a bound."""

from __future__ import annotations

import base64
import json

import pytest

from strangler.routing import claims
from strangler.routing.claims import KEEP_HEADER, KEPT_BYTES, claim_text, payload


def token(scheme: str = "Bearer", **values: object) -> bytes:
    body = base64.urlsafe_b64encode(json.dumps(values).encode()).rstrip(b"=")
    return (scheme + " e30.").encode().lstrip() + body + b".c2ln"


@pytest.fixture(autouse=True)
def kept(monkeypatch: pytest.MonkeyPatch) -> claims._Kept:
    """An empty table of kept payloads for this test (the worker's own restored after)."""
    fresh = claims._Kept()
    monkeypatch.setattr(claims, "_KEPT", fresh)
    return fresh


def test_the_token_is_read_with_a_known_scheme_or_none() -> None:
    """Bearer, Token and JWT (any case) or a bare token give the claims; another scheme, a
    token that is not a JWT, or a payload that is not a JSON object give None."""
    for scheme in ("Bearer", "bearer", "Token", "JWT", ""):
        assert payload(token(scheme, user="ann")) == {"user": "ann"}
    for value in (
        token("Basic", user="ann"),
        b"Bearer x " + token("", user="ann"),
        b"Bearer not-a-jwt",
        b"Bearer a.%%%.c",
        b"Bearer a.bm90IGpzb24.c",  # "not json"
        b"Bearer a.WzFd.c",  # [1]: not an object
        b"Bearer e30." + base64.urlsafe_b64encode(b"[" * 5000).rstrip(b"=") + b".c",
        b"",
    ):
        assert payload(value) is None


def test_a_claim_reads_as_json_writes_it_unless_it_is_text() -> None:
    """Text is itself; booleans, numbers, null and lists read as JSON writes them."""
    assert [claim_text(v) for v in ("ann", True, 42, 1.5, None, ["a", 1])] == [
        "ann",
        "true",
        "42",
        "1.5",
        "null",
        '["a", 1]',
    ]


def test_a_token_is_decoded_once_and_kept_under_a_digest(kept: claims._Kept) -> None:
    """The same header gives the same (kept) mapping; the table's keys are 16-byte digests,
    so it holds no token."""
    value = token(user="ann")
    first = payload(value)
    assert payload(value) is first
    assert list(kept.payloads) != [value]
    assert all(len(key) == 16 for key in kept.payloads)
    assert kept.size == len(value)


def test_a_header_over_keep_header_is_read_each_time_never_kept(kept: claims._Kept) -> None:
    """A header longer than KEEP_HEADER still gives its claims but is never kept."""
    value = token(user="ann", pad="x" * KEEP_HEADER)
    assert payload(value) == {"user": "ann", "pad": "x" * KEEP_HEADER}
    assert kept.payloads == {}
    assert kept.size == 0


def test_a_stream_of_new_tokens_keeps_at_most_kept_bytes(kept: claims._Kept) -> None:
    """Distinct tokens past KEPT_BYTES of headers empty the table: it never holds more, and
    each token still reads its own claims."""
    pad = "x" * (KEEP_HEADER // 2)
    for n in range(2 * KEPT_BYTES // len(pad)):
        assert payload(token(user=f"u{n}", pad=pad)) == {"user": f"u{n}", "pad": pad}
        assert kept.size <= KEPT_BYTES
    assert 0 < len(kept.payloads) <= KEPT_BYTES // len(pad)
