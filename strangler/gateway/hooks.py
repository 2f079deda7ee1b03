"""What the request path calls besides the two apps, as small protocols: the assembly
(strangler.assembly) plugs in the objects, and the request path imports none of them.

    RequestObserver   told of every answered request (metrics, the request log, and next tracing)
    Shadow            serves a request from one backend and compares it on the other (and
                      notes the unshadowed requests to the same endpoints, for races)
    Lifecycle         the threads the gateway's lifespan starts and stops (the flag watcher, the
                      rollout conductor, the metrics' sync, the request log's flush)

An observer that is off is simply not in the tuple: it costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from strangler.flags.model import Flag
    from strangler.routing.decision import Decision, Reason
    from strangler.types import ASGIApp, Backend, Receive, Scope, Send


class RequestObserver(Protocol):
    def request_done(
        self,
        method: str,
        decision: Decision,
        backend: Backend,
        reason: Reason,
        status: int,
        seconds: float,
        request_id: bytes | None,
    ) -> None:
        """Told once per request, after its answer: who served it, why, its status (499 when
        the client left unanswered) and how long it took. It runs on the event loop, so it only
        counts or buffers; a fault in it is logged and costs the request nothing."""
        ...


class Shadow(Protocol):
    def wants(self, key: str, method: str, flag: Flag) -> bool:
        """Whether to shadow this request to the endpoint `key` (its share, method, CPU)."""
        ...

    def skipped_busy(self, key: str) -> None:
        """Counts a request not shadowed because the legacy pool had no thread to spare."""
        ...

    async def serve_unshadowed(
        self, key: str, app: ASGIApp, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Serves a request to the endpoint `key`, which has a shadow share, that is not
        shadowed this time (`wants` said no), noting it while it runs: it may change what a
        shadowed request on the same path reads between its two calls. Its body is not read.
        Requests to endpoints without a shadow share never come here, and cost nothing."""
        ...

    async def serve(
        self,
        key: str,
        serving: Backend,
        serving_app: ASGIApp,
        scope: Scope,
        other_app: ASGIApp,
        other_scope: Scope,
        receive: Receive,
        send: Send,
        *,
        calibration_app: ASGIApp | None = None,
    ) -> None:
        """Serves the request from `serving_app` as usual, and compares it on `other_app`.
        `calibration_app`: `serving_app` as its sandboxed A/A call (which learns the noise)
        runs it (strangler.tracing gives that call a span of its own); None: `serving_app`."""
        ...


class Lifecycle(Protocol):
    def start(self) -> None:
        """Starts the gateway's threads (at lifespan startup, or the first request)."""
        ...

    def close(self) -> None:
        """Stops them and writes what they hold (at shutdown)."""
        ...
