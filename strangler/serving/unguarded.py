"""A warning when the gateway runs under a server that does not enforce its limits.

The connection limits (header size and time, body stalls, connections: strangler.serving.limits)
live in GuardedProtocol, the HTTP protocol `strangler serve` and `gunicorn -k
strangler.serving.gunicorn.Worker` run. Under another server (uvicorn's own protocols, `--http
h11`, hypercorn, gunicorn with uvicorn's plain worker) they silently do not apply; this says so
once, at the first request, in the server's log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from strangler.serving.protocol import GuardedProtocol

log = logging.getLogger("strangler.serving")

WARNING = (
    "the gateway's connection limits (max_header_bytes, header_timeout, body_timeout,"
    " max_connections, max_body) do not apply under this server: serve it with `strangler"
    " serve`, `gunicorn -k strangler.serving.gunicorn.Worker`, or uvicorn"
    " --http strangler.serving.protocol:GuardedProtocol"
)


class LimitsCheck:
    """A RequestObserver for the first request only: it warns unless a connection came through
    GuardedProtocol, then `done` takes it out of the gateway's observers (it costs no later
    request anything)."""

    def __init__(self, done: Callable[[LimitsCheck], None]) -> None:
        self.done = done

    def request_done(
        self,
        method: str,
        decision: object,  # the routing's facts: not read (and a layer above this one)
        backend: object,
        reason: object,
        status: int,
        seconds: float,
        request_id: bytes | None,
    ) -> None:
        self.done(self)
        if not GuardedProtocol.serving:
            log.warning(WARNING)
