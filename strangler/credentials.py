"""The admin credentials: who may read or change the flags, and how a request presents one.

Credentials come from the environment, never from a file in the repository:

    STRANGLER_ADMIN_TOKENS="ann:write:TOKEN1,ci:read:TOKEN2"   one per person or system
    STRANGLER_ADMIN_TOKEN=TOKEN                                 one shared credential, "admin"

A `read` credential may list endpoints, flags and history and use the force header; changing a
flag takes `write`. The audit trail names the credential that made a change, whatever the
request claims. Tokens are compared in constant time; an empty token is no token, never a match
for "". A token shorter than MIN_TOKEN_LENGTH is weak: a gateway outside development mode refuses
to start with one.

Wrong tries are counted per client (`Tries`): past a few a minute, a client is refused unchecked
(429) until its allowance comes back, on the admin API and the dashboard's login alike.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import hmac
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from strangler.errors import ConfigError

ADMIN_TOKEN_HEADER = "x-strangler-admin-token"
# 16 characters: `openssl rand -hex 8` at the least (64 bits); guessed at the API's throttled
# rate, never in practice.
MIN_TOKEN_LENGTH = 16


class Role(enum.StrEnum):
    READ = "read"
    WRITE = "write"


@dataclasses.dataclass(frozen=True)
class Credential:
    """A named admin credential and what it may do."""

    name: str
    role: Role
    token: str = dataclasses.field(repr=False)

    def may(self, role: Role) -> bool:
        return self.role is Role.WRITE or role is Role.READ


_PROCESS_SECRET = os.urandom(32)
SESSION_SECRET_ENV = "STRANGLER_SESSION_SECRET"
DEV = Credential("dev", Role.WRITE, "")  # development mode: no credential needed, all allowed


class Credentials:
    """The credentials a gateway accepts; with none it accepts only in development mode."""

    def __init__(self, credentials: Iterable[Credential] = (), *, dev_mode: bool = False) -> None:
        self._all = [c for c in credentials if c.token]
        self.dev_mode = dev_mode

    @classmethod
    def parse(cls, tokens: str | None, token: str | None, *, dev_mode: bool) -> Credentials:
        """From STRANGLER_ADMIN_TOKENS (`name:role:token,...`) and STRANGLER_ADMIN_TOKEN."""
        found = [Credential("admin", Role.WRITE, token)] if token else []
        for item in (tokens or "").split(","):
            if not item.strip():
                continue
            name, role, secret = (part.strip() for part in (*item.split(":", 2), "", "")[:3])
            if not name or role not in ("read", "write") or not secret:
                raise ConfigError(
                    "STRANGLER_ADMIN_TOKENS must be name:role:token entries separated by commas,"
                    f" role read or write (found an entry starting {name[:20]!r})"
                )
            found.append(Credential(name, Role(role), secret))
        names = [c.name for c in found]
        if len(set(names)) != len(names):
            raise ConfigError(f"admin credentials must have distinct names, found {names}")
        if len({c.token for c in found}) != len(found):  # else which role would a token have?
            raise ConfigError("admin credentials must have distinct tokens; give each its own")
        return cls(found, dev_mode=dev_mode)

    @property
    def configured(self) -> bool:
        return bool(self._all)

    def weak(self) -> list[str]:
        """The names of the credentials whose token is shorter than MIN_TOKEN_LENGTH."""
        return [c.name for c in self._all if len(c.token) < MIN_TOKEN_LENGTH]

    def refuse_weak(self) -> None:
        """Raises ConfigError if a token is weak (outside development mode, tokens guard changes
        to live routing: one a guesser could find must not be accepted)."""
        if weak := self.weak():
            raise ConfigError(
                f"the admin token(s) of {', '.join(weak)} are shorter than {MIN_TOKEN_LENGTH}"
                " characters: make each with `openssl rand -hex 16` (or use --dev on a"
                " development machine)"
            )

    def named(self, name: str) -> Credential | None:
        """The credential called `name` (development mode: DEV for `dev`), or None."""
        if not self._all:
            return DEV if self.dev_mode and name == DEV.name else None
        return next((c for c in self._all if c.name == name), None)

    def secret(self) -> bytes:
        """A key the workers of one gateway share (the same credentials give the same key),
        for signing dashboard sessions; random in development mode without credentials."""
        if not self._all:  # development mode: `strangler serve` gives every worker one
            shared = os.environ.get(SESSION_SECRET_ENV)
            return hashlib.sha256(shared.encode()).digest() if shared else _PROCESS_SECRET
        tokens = "\n".join(sorted(c.token for c in self._all))
        return hashlib.sha256(b"strangler-dashboard\n" + tokens.encode()).digest()

    def match(self, given: str | None) -> Credential | None:
        """The credential `given` is the token of (development mode: DEV), or None."""
        if not self._all:
            return DEV if self.dev_mode else None
        if not given:
            return None
        # Digests of equal length, every credential compared: the time tells neither which
        # token nor how long it is.
        digest = hashlib.sha256(given.encode()).digest()
        found = None
        for credential in self._all:
            if hmac.compare_digest(digest, hashlib.sha256(credential.token.encode()).digest()):
                found = credential
        return found


def presented_token(authorization: str | None, admin_header: str | None) -> str | None:
    """The token a request carries: `X-Strangler-Admin-Token`, else `Authorization: Bearer`."""
    if admin_header:
        return admin_header
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


def client_of(scope: Mapping[str, Any]) -> str:
    """Who an ASGI request comes from, for counting its tries: its peer address."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class Tries:
    """Wrong credentials tried, per client: each client has an allowance of `per_minute` wrong
    tries, which comes back at that rate; with none left it must wait (`wait`) before it may try
    again. The table keeps the `clients` most recent clients only, so its memory is bounded: a
    client pushed out starts again with a full allowance.

    A client is its peer address: behind a proxy every client is the proxy's address, and one
    guesser's lockout is everyone's (the proxy should throttle them itself). Each worker counts
    its own tries.
    """

    def __init__(
        self,
        per_minute: int = 10,
        *,
        clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._allowance = float(per_minute)
        self._rate = per_minute / 60.0  # tries a second coming back
        self._clients = clients
        self._clock = clock
        self._left: OrderedDict[str, tuple[float, float]] = OrderedDict()  # (tries left, when)

    def wait(self, client: str) -> float:
        """Seconds `client` must wait before its next try is checked; 0: it may try now."""
        left = self._left_now(client)
        return 0.0 if left >= 1 else (1 - left) / self._rate

    def failed(self, client: str) -> None:
        """Counts a wrong try of `client`."""
        left = self._left_now(client) - 1
        self._left[client] = (left, self._clock())
        self._left.move_to_end(client)
        while len(self._left) > self._clients:
            self._left.popitem(last=False)  # the longest quiet: most likely back to full

    def _left_now(self, client: str) -> float:
        found = self._left.get(client)
        if found is None:
            return self._allowance
        left, when = found
        return min(self._allowance, left + (self._clock() - when) * self._rate)
