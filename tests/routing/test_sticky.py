"""Where a canary caller's sticky identifier comes from (strangler.routing.sticky)."""

from __future__ import annotations


def test_a_jwt_claim_is_read_once_per_token_and_the_memory_stays_bounded() -> None:
    """The same token gives the same claim from memory; a flood of distinct tokens never holds
    more than the bound, and each still reads its own claim."""
    import base64
    import json

    from strangler.routing import sticky

    def scope_with(user: str) -> dict[str, object]:
        claims = base64.urlsafe_b64encode(json.dumps({"user": user}).encode()).rstrip(b"=")
        return {"headers": [(b"authorization", b"Bearer e30." + claims + b".sig")]}

    source = sticky.jwt_claim("user")
    assert source(scope_with("ann")) == source(scope_with("ann")) == "ann"
    for n in range(sticky._KNOWN_TOKENS + 10):
        assert source(scope_with(f"u{n}")) == f"u{n}"
    known = next(
        c.cell_contents for c in source.__closure__ or () if isinstance(c.cell_contents, dict)
    )
    assert len(known) <= sticky._KNOWN_TOKENS
