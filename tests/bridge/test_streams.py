"""The request body a WSGI worker thread reads from the event loop (strangler.bridge.streams)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from strangler.bridge.errors import ClientDisconnected
from strangler.bridge.streams import RequestBody
from tests.support.asgi import FakeClient


async def read_in_thread(client: FakeClient, reader: Any) -> Any:
    body = RequestBody(asyncio.get_running_loop(), client.receive)
    return await asyncio.wait_for(asyncio.to_thread(reader, body), timeout=5)


async def test_request_body_readline_with_a_limit_reads_the_first_line() -> None:
    """readline(limit) before any read returns the first line (a2wsgi's returns b"")."""
    client = FakeClient(b"one\ntw", b"o\nthree")
    lines = await read_in_thread(client, lambda body: [body.readline(65536) for _ in range(4)])
    assert lines == [b"one\n", b"two\n", b"three", b""]


async def test_request_body_reads_sizes_across_messages() -> None:
    """read(n) gathers bytes across ASGI messages, then read() returns the rest."""
    client = FakeClient(b"abc", b"", b"defgh", b"ij")
    parts = await read_in_thread(client, lambda body: [body.read(4), body.read(4), body.read()])
    assert parts == [b"abcd", b"efgh", b"ij"]


async def test_request_body_raises_when_the_client_disconnects() -> None:
    """A body cut short by a disconnect raises ClientDisconnected, never a silent short read."""
    client = FakeClient()
    client.inbox = asyncio.Queue()
    client.inbox.put_nowait({"type": "http.request", "body": b"part", "more_body": True})
    client.disconnect()
    with pytest.raises(ClientDisconnected):
        await read_in_thread(client, lambda body: body.read())
