"""Where a canary caller's sticky identifier comes from (strangler.routing.sticky)."""

from __future__ import annotations


def _claims_token(scheme: str, **claims: object) -> bytes:
    import base64
    import json

    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    return (scheme + " e30.").encode().lstrip() + payload + b".sig"


def test_a_jwt_claim_reads_as_a_segment_does_and_keeps_existing_buckets() -> None:
    """A claim that is not text reads as JSON writes it (`true`, as `claim:admin=true` matches
    it); text and numbers read as before, so their callers keep their buckets; a Basic
    credential or a header of three words holds no claim (issue #25, review item 11)."""
    from strangler.routing import sticky

    def read(claim: str, value: bytes) -> str | None:
        return sticky.jwt_claim(claim)({"headers": [(b"authorization", value)]})

    assert read("admin", _claims_token("Bearer", admin=True)) == "true"
    assert read("roles", _claims_token("Token", roles=["a", "b"])) == '["a", "b"]'
    for scheme in ("Bearer", "Token", "JWT", ""):
        assert read("user", _claims_token(scheme, user="ann")) == "ann"
        assert read("user", _claims_token(scheme, user=42)) == "42"
        assert read("user", _claims_token(scheme, user=None)) is None
    assert read("user", _claims_token("Basic", user="ann")) is None
    assert read("user", b"Bearer x " + _claims_token("", user="ann")) is None


def test_huge_tokens_cost_no_memory_once_read() -> None:
    """Distinct tokens of 32 KiB leave next to nothing in memory once their claim is read: a
    header that long is read each time, never kept."""
    import tracemalloc

    from strangler.routing import sticky

    source = sticky.jwt_claim("user")
    source({"headers": [(b"authorization", _claims_token("Bearer", user="warm-up"))]})
    pad = "x" * 24 * 1024
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(100):
            huge = _claims_token("Bearer", user=f"u{n}", pad=pad)
            assert len(huge) > 32 * 1024
            assert source({"headers": [(b"authorization", huge)]}) == f"u{n}"
            del huge
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 256 * 1024, f"{grown} bytes kept for 100 tokens"
