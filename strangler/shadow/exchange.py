"""One request's body read once and replayed; an ASGI answer captured as it is sent."""

from __future__ import annotations

import asyncio

from strangler.bridge.streams import read_whole_body
from strangler.comparison.compare import Answer
from strangler.types import ASGIApp, Message, Receive, Scope, Send


class Unreplayable(Exception):
    """The request's body is too big (or of unknown length) to read whole and send twice."""


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None if the client left. Raises Unreplayable, having read
    nothing, if its declared length is over `limit` or it has none but may have a body."""
    length = None
    for name, value in scope["headers"]:
        if name == b"content-length":
            length = int(value) if value.isdigit() else limit + 1
        elif name == b"transfer-encoding":
            raise Unreplayable("a chunked body")
    if length is None:
        length = 0
    if length > limit:
        raise Unreplayable(f"a body of {length} bytes")
    return await read_whole_body(receive)


def replay(body: bytes, then: Receive | None = None) -> Receive:
    """A `receive` that gives `body` in one message, then defers to `then` (the client's, for
    its disconnect) or, for a shadow call nobody waits on, never answers again."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        if then is not None:
            return await then()
        await asyncio.Event().wait()  # cancelled when the call ends
        raise AssertionError("unreachable")

    return receive


class Capture:
    """Wraps the client's `send`: passes every message on unchanged, and keeps a copy of the
    answer (up to `limit` body bytes; past that it is marked too big and not kept)."""

    def __init__(self, send: Send | None, limit: int) -> None:
        self._send = send
        self._limit = limit
        self.status = 0
        self.headers: tuple[tuple[str, str], ...] = ()
        self.chunks: list[bytes] = []
        self.size = 0
        self.complete = False
        self.too_big = False
        self.raised: str | None = None

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            self.headers = tuple(
                (name.decode("latin-1"), value.decode("latin-1"))
                for name, value in message.get("headers", ())
            )
        elif message["type"] == "http.response.body":
            chunk = message.get("body", b"")
            self.size += len(chunk)
            if self.size > self._limit:
                self.too_big = True
                self.chunks = []
            elif chunk:
                self.chunks.append(chunk)
            if not message.get("more_body", False):
                self.complete = True
        if self._send is not None:
            await self._send(message)

    def answer(self) -> Answer:
        body = b"".join(self.chunks)
        return Answer(self.status, self.headers, body, self.raised, broken=not self.complete)


async def call(app: ASGIApp, scope: Scope, body: bytes, limit: int) -> Capture:
    """Calls `app` in process with `body`; returns what it answered. An exception the app
    raised after answering (as Starlette does after its 500) is noted in the answer."""
    capture = Capture(None, limit)
    try:
        await app(dict(scope), replay(body), capture.send)
    except Exception as exc:
        if not capture.status:
            raise
        capture.raised = f"{type(exc).__name__}: {exc}"
    return capture
