"""uvicorn's HTTP protocol (httptools), with the gateway's limits enforced as bytes arrive.

uvicorn bounds neither the header block (httptools buffers a 50 MB header whole), nor the time
to send it (a connection may trickle a byte every few seconds for ever), nor the connections
(enough slow sockets exhaust the file descriptors and shut fresh clients out). This protocol:

- counts the bytes of a request's header block as they arrive, before the parser buffers them,
  and answers 431 past `max_header_bytes` (or `max_headers` fields);
- answers 408 and closes when the headers take longer than `header_timeout` from the request's
  first byte (or from the connection's opening);
- answers 413 for a declared body over `max_body` before the app starts, and cuts off a chunked
  body once it passes `max_body`;
- closes a connection whose body stalls longer than `body_timeout` between chunks (the app sees
  the client leave);
- past `max_connections` open connections in this worker, drops the one that has waited longest
  for its headers to make room (the attacker's, under a slow-header attack), else the new one.

Everything else is uvicorn's. The limits come from the settings `strangler serve` hands the
workers (`configure` in this process).
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from strangler.serving.limits import Limits

_REASONS = {
    408: b"Request Timeout",
    413: b"Content Too Large",
    431: b"Request Header Fields Too Large",
}


class GuardedProtocol(HttpToolsProtocol):
    """HttpToolsProtocol with header size, header time, body stall and connection limits."""

    limits: ClassVar[Limits] = Limits()
    # Connections of this worker waiting for their headers, and since when (loop time).
    waiting: ClassVar[dict[GuardedProtocol, float]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_bytes = 0
        self._header_count = 0
        self._reading_headers = True
        self._body_bytes = 0
        self._deadline: asyncio.TimerHandle | None = None

    # --- connections ---------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections and not self._make_room():
            transport.close()
            return
        self._await_headers()

    def _make_room(self) -> bool:
        """Drops the connection that has waited longest for its headers; False if none is."""
        waiting = [(since, p) for p, since in self.waiting.items() if p is not self]
        if not waiting:
            return False
        _, oldest = min(waiting, key=lambda item: item[0])
        oldest._refuse(408)
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_clock()
        self.waiting.pop(self, None)
        super().connection_lost(exc)

    # --- the header block ----------------------------------------------------------------------

    def _await_headers(self) -> None:
        self._reading_headers = True
        self._header_bytes = self._header_count = 0
        self.waiting[self] = self.loop.time()
        self._start_clock(self.limits.header_timeout, 408)

    def data_received(self, data: bytes) -> None:
        if not self._reading_headers:
            if self._deadline is not None:  # a body chunk: the stall clock starts again
                self._start_clock(self.limits.body_timeout, None)
            super().data_received(data)
            return
        # One read may hold the end of the headers and a body: only what arrives while the
        # headers are still incomplete counts, so the parser holds at most the limit plus one
        # read (asyncio reads 256 KiB at most) when it is refused.
        self._header_bytes += len(data)
        super().data_received(data)
        if self._reading_headers and self._header_bytes > self.limits.max_header_bytes:
            self._refuse(431)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self._reading_headers:  # the next request on a kept-alive connection
            self._await_headers()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        if self._header_count > self.limits.max_headers:
            self._refuse(431)
            return
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._reading_headers = False
        self.waiting.pop(self, None)
        self._stop_clock()
        if self.transport.is_closing():
            return
        self._body_bytes = 0
        declared = next((v for n, v in self.headers if n == b"content-length"), b"")
        if declared.isdigit() and int(declared) > self.limits.max_body:
            self._refuse(413)  # before the app starts or a byte of the body is read
            return
        super().on_headers_complete()
        if self.cycle is not None and self.cycle.more_body and not self.parser.should_upgrade():
            self._start_clock(self.limits.body_timeout, None)

    def on_body(self, body: bytes) -> None:
        if self.transport.is_closing():  # refused mid-chunk: the parser may go on a little
            return
        self._body_bytes += len(body)
        if self._body_bytes > self.limits.max_body:  # chunked, no length declared: cut it off
            self.transport.close()
            return
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._stop_clock()
        if not self.transport.is_closing():
            super().on_message_complete()

    # --- the clock and refusals ----------------------------------------------------------------

    def _start_clock(self, seconds: float, status: int | None) -> None:
        self._stop_clock()
        self._deadline = self.loop.call_later(seconds, self._time_is_up, status)

    def _stop_clock(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _time_is_up(self, status: int | None) -> None:
        self._deadline = None
        if status is None:  # a stalled body: the app sees the client leave
            self.transport.close()
        else:
            self._refuse(status)

    def _refuse(self, status: int) -> None:
        """Answers `status` (if no response has begun) and closes the connection."""
        self._stop_clock()
        self.waiting.pop(self, None)
        if self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete:  # no response of the app begun
            reason = _REASONS[status]
            self.transport.write(
                b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
                b"content-length: %d\r\nconnection: close\r\n\r\n%s"
                % (status, reason, len(reason), reason)
            )
        self.transport.close()


def configure(limits: Limits) -> type[GuardedProtocol]:
    """Sets this process's limits; returns the protocol class for uvicorn's `http=`."""
    GuardedProtocol.limits = limits
    return GuardedProtocol
