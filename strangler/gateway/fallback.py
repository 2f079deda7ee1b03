"""The guard on the request path: a guarded endpoint's migrated answer that failed is not what
the client gets, where something better can be given.

    migrated answers 5xx, or raises before answering
      ├── GET, HEAD or OPTIONS without a body, legacy not full: asked again of legacy, whose
      │   answer the client gets (marked `X-Strangler-Backend: legacy`): nothing was changed by
      │   the failed call
      └── otherwise (the request may have changed something, or legacy has no room for one
          more: a failing port must not double legacy's load): not asked again; the client gets
          migrated's own 5xx, or, where it had none of its own (it raised, or its framework
          answered the bare `Internal Server Error` text), a 500 in the apps' error shape,
          `{"error": "internal server error"}`, marked `X-Strangler-Backend: migrated`

Either way the request counts as migrated's failure (its status goes to the metrics), so the
guard and the rollout judge see the port fail, and send the endpoint back to legacy. A 5xx
answer is held until it is known to be one (its start and body, up to HOLD bytes); every other
answer passes through as it comes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from strangler.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("strangler.gateway")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
HOLD = 64 * 1024  # bytes of a 5xx answer held; a longer one is passed on as it is
# What Starlette's ServerErrorMiddleware answers for an exception: the framework's, not the app's
FRAMEWORK_500 = b"Internal Server Error"
ERROR_BODY = b'{"error":"internal server error"}'


async def serve(
    migrated: ASGIApp,
    legacy: ASGIApp,
    scope: Scope,
    legacy_scope: Scope,
    receive: Receive,
    send: Send,
    legacy_send: Send,
    legacy_room: Callable[[], bool],
) -> int:
    """Serves the request from `migrated` through `send`, or from `legacy` through
    `legacy_send` (each marks its backend) when migrated failed a request that can be asked
    again and `legacy_room()` says legacy can take one more (the caller's `legacy` counts
    itself among legacy's requests in flight); returns migrated's status (500 when it raised),
    for the figures."""
    held = _Held(send)
    try:
        await migrated(scope, receive, held)
    except Exception:
        if held.passed:
            raise  # the answer had begun: nothing else can be sent
        log.exception("the migrated app failed %s %s", scope["method"], scope["path"])
        held.raised = True
        held.status = 500
    if not held.failed:
        return held.status
    if scope["method"] in SAFE_METHODS and _bodyless(scope) and legacy_room():
        await legacy(legacy_scope, _empty_body(receive), legacy_send)
    elif held.raised or held.framework_default():
        await _answer_500(send)
    else:
        await held.release()
    return held.status


class _Held:
    """Wraps `send`: passes an answer under 500 on as it comes, holds a 5xx one."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.status = 0
        self.passed = False  # the answer went on to the client
        self.raised = False
        self._messages: list[Message] = []
        self._size = 0

    @property
    def failed(self) -> bool:
        return self.raised or (bool(self._messages) and not self.passed)

    async def __call__(self, message: Message) -> None:
        if self.passed:
            await self._send(message)
            return
        if message["type"] == "http.response.start":
            self.status = message["status"]
            if self.status < 500:
                self.passed = True
                await self._send(message)
                return
        self._messages.append(message)
        self._size += len(message.get("body", b""))
        if self._size > HOLD:  # too long to be a bare error: the client gets it as it is
            await self.release()

    async def release(self) -> None:
        messages, self._messages = self._messages, []
        self.passed = True
        for message in messages:
            await self._send(message)

    def framework_default(self) -> bool:
        """Whether the held answer is the framework's bare 500 text, not the app's own."""
        body = b"".join(m.get("body", b"") for m in self._messages[1:])
        return self.status == 500 and body == FRAMEWORK_500


def _bodyless(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value != b"0"):
            return False
    return True


def _empty_body(receive: Receive) -> Receive:
    """The request's (empty) body once more, for the second app; then the client's messages
    (its disconnect)."""
    given = False

    async def again() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return await receive()

    return again


async def _answer_500(send: Send) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", b"%d" % len(ERROR_BODY)),
    ]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": ERROR_BODY})
