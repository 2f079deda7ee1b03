"""ASGI messages for tests that call an app directly, as a server would."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from strangler.types import Message, Scope


def http_scope(
    path: str = "/",
    *,
    method: str = "GET",
    headers: Iterable[tuple[bytes, bytes]] = (),
    query: bytes = b"",
    root_path: str = "",
) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("utf-8"),
        "query_string": query,
        "root_path": root_path,
        "headers": list(headers),
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


class FakeClient:
    """The server side of one request: scripted `receive` messages, recorded `send` messages."""

    def __init__(self, *body: bytes) -> None:
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        for i, chunk in enumerate(body or (b"",)):
            more = i < len(body) - 1
            self.inbox.put_nowait({"type": "http.request", "body": chunk, "more_body": more})
        self.sent: list[Message] = []
        self.first_chunk = asyncio.Event()

    async def receive(self) -> Message:
        return await self.inbox.get()

    async def send(self, message: Message) -> None:
        self.sent.append(message)
        if message["type"] == "http.response.body" and message.get("body"):
            self.first_chunk.set()

    def disconnect(self) -> None:
        self.inbox.put_nowait({"type": "http.disconnect"})

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        return list(self.sent[0]["headers"])

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent[1:])

    @property
    def body_messages(self) -> list[Message]:
        return self.sent[1:]
