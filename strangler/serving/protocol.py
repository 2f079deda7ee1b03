"""uvicorn's HTTP protocol (httptools), with the gateway's limits enforced as bytes arrive.

uvicorn bounds neither the header block (httptools buffers a 50 MB header whole), nor the time
to send it (a connection may trickle a byte every few seconds for ever), nor the connections
(enough slow sockets exhaust the file descriptors and shut fresh clients out). This protocol:

- counts the bytes of a request's header block as they arrive, before the parser buffers them,
  and answers 431 past `max_header_bytes` (or `max_headers` fields);
- answers 408 and closes when the headers take longer than `header_timeout` from the request's
  first byte (or from the connection's opening), to within a quarter second;
- answers 413 for a declared body over `max_body` before the app starts, and cuts off a chunked
  body once it passes `max_body`;
- closes a connection whose body stalls longer than `body_timeout` between chunks (the app sees
  the client leave);
- past `max_connections` open connections in this worker, drops the one that has waited longest
  for its headers to make room (503; the attacker's, under a slow-header attack), else the new
  one.

Everything else is uvicorn's. The limits come from the settings `strangler serve` hands the
workers (`configure` in this process).
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from strangler.serving.limits import Limits

_REASONS = {
    503: b"Service Unavailable",
    408: b"Request Timeout",
    413: b"Content Too Large",
    431: b"Request Header Fields Too Large",
}


class GuardedProtocol(HttpToolsProtocol):
    """HttpToolsProtocol with header size, header time, body stall and connection limits.

    Times are kept without a timer per request: a connection notes when it began waiting (for
    its headers, or for the next piece of its body) in a table, and one sweep a second per
    process refuses those that waited too long.
    """

    limits: ClassVar[Limits] = Limits()
    # Connections of this worker waiting for their headers, and since when (loop time).
    waiting: ClassVar[dict[GuardedProtocol, float]] = {}
    # Connections reading a body, and when its last piece came.
    reading: ClassVar[dict[GuardedProtocol, float]] = {}
    _sweeping: ClassVar[asyncio.TimerHandle | None] = None
    # Whether this process's server runs this protocol (a connection came through it): the
    # gateway warns when its first request came another way (strangler.serving.unguarded).
    serving: ClassVar[bool] = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_bytes = 0  # bytes read while the headers were incomplete (bounds memory)
        self._read = 0  # the size of the read being parsed
        self._reading_headers = True
        self._body_bytes = 0
        # uvicorn sets the headers at a request's first byte; until then they are None, and an
        # empty line before the request line (RFC 9112 §2.2) is a read with no request begun.
        self.headers = []

    # --- connections ---------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        GuardedProtocol.serving = True
        if len(self.connections) > self.limits.max_connections and not self._make_room():
            transport.close()
            return
        self._await_headers()

    def _make_room(self) -> bool:
        """Drops the connection that has waited longest for its headers; False if none is."""
        waiting = [
            (since, p)
            for p, since in self.waiting.items()
            if p is not self and not p.transport.is_closing()
        ]
        if not waiting:
            return False
        _, oldest = min(waiting, key=lambda item: item[0])
        oldest._refuse(503)  # not its fault: the server is full
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.waiting.pop(self, None)
        self.reading.pop(self, None)
        super().connection_lost(exc)

    # --- the header block ----------------------------------------------------------------------

    def _await_headers(self) -> None:
        self._reading_headers = True
        # A request on a kept-alive connection begins inside a read (the one that ended the last
        # request, or its own first): that read's size bounds what of it is this header block.
        self._header_bytes = self._read
        self.waiting[self] = self.loop.time()
        if GuardedProtocol._sweeping is None:
            GuardedProtocol._sweeping = self.loop.call_later(SWEEP_EVERY, _sweep, self.loop)

    def data_received(self, data: bytes) -> None:
        self._read = len(data)
        if not self._reading_headers:
            if self in self.reading:  # a body chunk: its stall clock starts again
                self.reading[self] = self.loop.time()
            super().data_received(data)
            return
        # One read may hold the end of the headers and a body: only what arrives while the
        # headers are still incomplete counts, so the parser holds at most the limit plus one
        # read (asyncio reads 256 KiB at most) when it is refused. The fields parsed so far are
        # counted after the read, not one by one as they are parsed (a call per field would
        # cost every request more than the check): the memory bound is the same.
        self._header_bytes += len(data)
        super().data_received(data)
        if self._reading_headers and (
            self._header_bytes > self.limits.max_header_bytes
            or len(self.headers) > self.limits.max_headers
        ):
            self._refuse(431)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self._reading_headers:  # the next request on a kept-alive connection
            self._await_headers()

    def on_headers_complete(self) -> None:
        # Checked here too: a header block that arrives whole in one read is never "still
        # incomplete after a read", and the next request on a kept-alive connection starts
        # inside the read that ended the last one.
        self._reading_headers = False
        self.waiting.pop(self, None)
        limits = self.limits
        headers = self.headers
        # The bytes read for this request bound its header block (they may hold a body too, or
        # the next request): the block is measured field by field only when they pass the limit.
        if len(headers) > limits.max_headers or (
            self._header_bytes > limits.max_header_bytes
            and _block_size(self.url, headers) > limits.max_header_bytes
        ):
            self._refuse(431)
        if self.transport.is_closing():
            return
        self._body_bytes = 0
        # dict() finds the length without a Python loop; the parser refuses a request with two.
        length = dict(headers).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limits.max_body:
            self._refuse(413)  # before the app starts or a byte of the body is read
            return
        super().on_headers_complete()
        if self.cycle is not None and self.cycle.more_body and not self.parser.should_upgrade():
            self.reading[self] = self.loop.time()

    def on_body(self, body: bytes) -> None:
        if self.transport.is_closing():  # refused mid-chunk: the parser may go on a little
            return
        self._body_bytes += len(body)
        if self._body_bytes > self.limits.max_body:  # chunked, no length declared: cut it off
            self._refuse(413)
            return
        super().on_body(body)

    def on_message_complete(self) -> None:
        self.reading.pop(self, None)
        if not self.transport.is_closing():
            super().on_message_complete()

    def _refuse(self, status: int) -> None:
        """Answers `status` (unless the app's response has begun) and closes the connection."""
        self.waiting.pop(self, None)
        self.reading.pop(self, None)
        if self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete or not self.cycle.response_started:
            reason = _REASONS[status]
            self.transport.write(
                b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
                b"content-length: %d\r\nconnection: close\r\n\r\n%s"
                % (status, reason, len(reason), reason)
            )
        self.transport.close()


def _block_size(url: bytes, headers: list[tuple[bytes, bytes]]) -> int:
    """The request line and header fields, as max_header_bytes counts them."""
    size = len(url)
    for name, value in headers:
        size += len(name) + len(value) + 4
    return size


# How often the sweep looks for connections that waited too long (the times' resolution).
SWEEP_EVERY = 0.25


def _sweep(loop: asyncio.AbstractEventLoop) -> None:
    """Refuses what waited too long: headers past header_timeout (408), bodies stalled past
    body_timeout (closed: the app sees the client leave). Runs while connections wait."""
    GuardedProtocol._sweeping = None  # first: whatever happens below, the next wait restarts it
    now, limits = loop.time(), GuardedProtocol.limits
    for protocol, since in list(GuardedProtocol.waiting.items()):
        if now - since > limits.header_timeout:
            protocol._refuse(408)
    for protocol, since in list(GuardedProtocol.reading.items()):
        if protocol.flow.read_paused:  # the server stopped reading (the app is behind), not
            GuardedProtocol.reading[protocol] = now  # the client: the clock waits too
        elif now - since > limits.body_timeout:
            GuardedProtocol.reading.pop(protocol, None)
            protocol.transport.close()
    if GuardedProtocol.waiting or GuardedProtocol.reading:
        GuardedProtocol._sweeping = loop.call_later(SWEEP_EVERY, _sweep, loop)


def configure(limits: Limits) -> type[GuardedProtocol]:
    """Sets this process's limits; returns the protocol class for uvicorn's `http=`."""
    GuardedProtocol.limits = limits
    return GuardedProtocol
