"""Small shared types: the backends, ASGI aliases and WSGI aliases, and this machine's names."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]


class Backend(enum.StrEnum):
    """Which of the two apps serves a request."""

    LEGACY = "legacy"
    MIGRATED = "migrated"


class Mode(enum.StrEnum):
    """How an endpoint's flag routes its requests."""

    LEGACY = "legacy"
    MIGRATED = "migrated"
    CANARY = "canary"
    OFF = "off"  # for an endpoint only one app serves: answered by the other app (its 404)


# This machine's own host names, as a Host header or `--host` gives them: where development mode
# may open the admin API, and where the dashboard answers unless told otherwise.
LOOPBACK = ("127.0.0.1", "localhost", "[::1]", "::1")
