"""The two streams between a WSGI worker thread and the event loop (the general path).

- `RequestBody` is `wsgi.input` for a body too big to buffer or of unknown length (chunked): each
  read in the worker thread pulls ASGI `http.request` messages from the loop, on demand.
- `Outbox` carries response messages from the worker thread to the loop with at most `size`
  messages in flight (backpressure: a slow client slows the app, not memory), and tells the worker
  when the client is gone so it stops iterating and closes the WSGI iterable.
"""

from __future__ import annotations

import asyncio
import threading

from strangler.bridge.errors import ClientDisconnected
from strangler.types import Message, Receive, Send


class RequestBody:
    """A file-like `wsgi.input` fed by ASGI `receive`, for use from a worker thread only."""

    def __init__(self, loop: asyncio.AbstractEventLoop, receive: Receive) -> None:
        self._loop = loop
        self._receive = receive
        self._buffer = bytearray()
        self._more = True
        self.disconnected = False
        self.complete = asyncio.Event()  # set on the loop once the last body message arrived

    def read(self, size: int | None = -1) -> bytes:
        while (size is None or size < 0 or len(self._buffer) < size) and self._pull():
            pass
        return self._take(len(self._buffer) if size is None or size < 0 else size)

    def readline(self, size: int | None = -1) -> bytes:
        limit = -1 if size is None else size
        start = 0
        while True:
            newline = self._buffer.find(b"\n", start)
            if newline >= 0:
                end = newline + 1
                break
            start = len(self._buffer)
            if 0 <= limit <= start or not self._pull():
                end = start
                break
        return self._take(end if limit < 0 else min(end, limit))

    def readlines(self, hint: int = -1) -> list[bytes]:
        lines: list[bytes] = []
        total = 0
        while (line := self.readline()) and (hint <= 0 or total < hint):
            lines.append(line)
            total += len(line)
        return lines

    def __iter__(self) -> RequestBody:
        return self

    def __next__(self) -> bytes:
        if line := self.readline():
            return line
        raise StopIteration

    def _take(self, size: int) -> bytes:
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def _pull(self) -> bool:
        """Appends the next body message to the buffer; False once the body has ended."""
        if not self._more:
            return False
        message = asyncio.run_coroutine_threadsafe(self._next_message(), self._loop).result()
        if message["type"] == "http.disconnect":
            self.disconnected = True
            self._more = False
            raise ClientDisconnected("the client disconnected while sending the request body")
        self._buffer += message.get("body", b"")
        self._more = bool(message.get("more_body", False))
        return True

    async def _next_message(self) -> Message:
        message = await self._receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            self.complete.set()
        return message


class Outbox:
    """Response messages from the worker thread to the loop; at most `size` of them in flight."""

    def __init__(self, loop: asyncio.AbstractEventLoop, send: Send, size: int) -> None:
        self._loop = loop
        self._send = send
        self._queue: asyncio.Queue[Message | None] = asyncio.Queue()
        # Backpressure is counted in the worker thread (a semaphore), so `put` never waits on a
        # loop round trip while there is room; the loop frees a slot when a message is sent.
        self._slots = threading.Semaphore(size)
        self.gone = False

    def put(self, message: Message) -> None:
        """Worker thread: queues `message`; raises ClientDisconnected once the client is gone."""
        self._slots.acquire()
        if self.gone:
            self._slots.release()  # let a later put (if any) fail as fast
            raise ClientDisconnected("the client disconnected during the response")
        self._post(message)

    def finish(self) -> None:
        """Worker thread: no more messages; the pump ends after the queued ones."""
        self._post(None)

    def hang_up(self) -> None:
        """Loop: the client is gone; wakes a worker blocked in `put` so it can stop."""
        if not self.gone:
            self.gone = True
            self._slots.release()

    async def pump(self) -> None:
        """Loop: sends queued messages in order until `finish`; on any failure, hangs up."""
        try:
            while (message := await self._queue.get()) is not None:
                if not self.gone:
                    await self._send(message)
                    self._slots.release()
        except BaseException:
            self.hang_up()
            raise

    async def watch_disconnect(self, receive: Receive, body_received: asyncio.Event | None) -> None:
        """Loop: hangs up when the client disconnects (looked for once the body is all read)."""
        if body_received is not None:
            await body_received.wait()
        while (await receive())["type"] != "http.disconnect":
            pass
        self.hang_up()

    def _post(self, message: Message | None) -> None:
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, message)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            self.gone = True
            raise ClientDisconnected("the event loop closed during the response") from None


async def read_whole_body(receive: Receive) -> bytes | None:
    """Reads a whole (small) request body on the loop; None if the client disconnected."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)
