"""The admin credentials (strangler.credentials): weak tokens, and wrong tries per client (#22)."""

from __future__ import annotations

import pytest

from strangler.credentials import MIN_TOKEN_LENGTH, Credentials, Tries
from strangler.errors import ConfigError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_tokens_shorter_than_sixteen_characters_are_weak() -> None:
    """Credentials name their weak tokens, and refuse_weak says how to make a strong one."""
    strong = "x" * MIN_TOKEN_LENGTH
    credentials = Credentials.parse(f"ann:write:{strong},ci:read:short", "a", dev_mode=False)
    assert credentials.weak() == ["admin", "ci"]
    with pytest.raises(ConfigError, match=r"admin, ci are shorter than 16 .*openssl rand"):
        credentials.refuse_weak()
    Credentials.parse(f"ann:write:{strong}", None, dev_mode=False).refuse_weak()  # no error


def test_a_client_may_try_its_allowance_then_waits_for_it_to_come_back() -> None:
    """Ten wrong tries a minute: the eleventh waits 6 s, and one try comes back every 6 s."""
    clock = Clock()
    tries = Tries(10, clock=clock)
    for _ in range(10):
        assert tries.wait("10.0.0.1") == 0
        tries.failed("10.0.0.1")
    assert tries.wait("10.0.0.1") == pytest.approx(6.0)
    assert tries.wait("10.0.0.2") == 0  # per client
    clock.now += 3
    assert tries.wait("10.0.0.1") == pytest.approx(3.0)
    clock.now += 3
    assert tries.wait("10.0.0.1") == 0
    tries.failed("10.0.0.1")
    assert tries.wait("10.0.0.1") == pytest.approx(6.0)
    clock.now += 3600  # a long quiet: the allowance is full again, never more
    for _ in range(10):
        tries.failed("10.0.0.1")
    assert tries.wait("10.0.0.1") > 0


def test_the_table_of_clients_is_bounded() -> None:
    """Past `clients` entries the least recently failing client is forgotten."""
    tries = Tries(1, clients=3, clock=Clock())
    for client in ("a", "b", "c", "d"):
        tries.failed(client)
    assert tries.wait("a") == 0  # forgotten: a full allowance again
    assert all(tries.wait(client) > 0 for client in ("b", "c", "d"))
    assert len(tries._left) == 3
