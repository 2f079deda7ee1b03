"""Fixtures of the admin API's tests: a gateway on the small pair, with an admin token."""

from tests.support.pair_gateway import client, gateway

__all__ = ["client", "gateway"]
