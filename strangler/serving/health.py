"""Health on a port of its own, answered by a thread of its own: what a load balancer polls.

Under overload the server's event loop serves every busy connection once between two looks at a
new one: with 1,000 clients retrying at once a turn takes ~0.75 s, and a probe on a fresh
connection needs three or four turns (accepted, read, run, written), so it waited 1.5-3.6 s on
the main port (docs/performance.md). This listener has its own socket and its own event loop in
a daemon thread, so a probe waits only for the thread's turn at the GIL (5 ms switches), however
busy the main loop is.

A thread that answers for the process could say `ok` while the main loop is wedged, so each
probe also asks the main loop for a beat; a beat asked for more than `stall_after` seconds ago
and not yet given makes the answer 503 with status `stalled`. Any request on the port (any
method, any path) gets the answer, as JSON, and the connection is closed. With several workers,
each binds the port with SO_REUSEPORT and the kernel hands each probe to one of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from strangler.errors import ConfigError

log = logging.getLogger("strangler.health")

# A probe sends one short request: past these, its connection is closed unanswered.
READ_TIMEOUT = 2.0
MAX_REQUEST = 8192


class HealthListener:
    """Answers `report()` on `host:port` from a thread, from `start` until `stop`.

    report: the health as a dict with a "status" ("ok", "degraded"); it runs in the listener's
        thread, so it reads state without waiting for the main loop (a raise answers 503).
    stall_after: seconds a beat asked of the main loop may stay ungiven before the answer is
        `stalled`.
    """

    def __init__(
        self,
        host: str,
        port: int,
        report: Callable[[], dict[str, Any]],
        *,
        stall_after: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.stall_after = stall_after
        self._report = report
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._asked: float | None = None  # when the beat under way was asked of the main loop

    def start(self) -> None:
        """Binds the port (ConfigError if it cannot) and starts answering. Called on the main
        loop (the gateway's lifespan startup), it watches that loop for stalls."""
        if self._thread is not None:
            return
        try:
            self._main = asyncio.get_running_loop()
        except RuntimeError:
            self._main = None  # no loop to watch
        sock = _bind(self.host, self.port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._run, args=(self._loop, sock), name="strangler-health", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(RuntimeError):  # already closed
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        self._loop = self._thread = None

    def answer(self) -> tuple[int, dict[str, Any]]:
        """The status code and body of a probe's answer."""
        lag = self._beat_waited()
        if lag > self.stall_after:
            return 503, {"status": "stalled", "loop_waited": round(lag, 3)}
        try:
            body = dict(self._report())
        except Exception as exc:
            log.exception("the health report failed")
            return 503, {"status": "error", "error": repr(exc)}
        body["loop_waited"] = round(lag, 3)
        return 200, body

    def _beat_waited(self) -> float:
        """Seconds the main loop has owed a beat (0 when none is owed: one is asked now)."""
        main = self._main
        if main is None:
            return 0.0
        asked = self._asked
        if asked is not None:
            return time.monotonic() - asked
        self._asked = time.monotonic()
        try:
            main.call_soon_threadsafe(self._beat)
        except RuntimeError:  # the main loop is closed: it will never beat
            return float("inf")
        return 0.0

    def _beat(self) -> None:  # on the main loop
        self._asked = None

    def _run(self, loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
        asyncio.set_event_loop(loop)
        server = loop.run_until_complete(
            asyncio.start_server(self._serve, sock=sock, limit=MAX_REQUEST)
        )
        try:
            loop.run_forever()
        finally:
            server.close()
            loop.run_until_complete(server.wait_closed())
            loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(READ_TIMEOUT):
                await reader.readuntil(b"\r\n\r\n")
                status, body = self.answer()
                payload = json.dumps(body).encode()
                reason = b"OK" if status == 200 else b"Service Unavailable"
                writer.write(
                    b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\n"
                    b"content-length: %d\r\nconnection: close\r\n\r\n%s"
                    % (status, reason, len(payload), payload)
                )
                await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass  # a client that is slow, sends too much or leaves: closed unanswered
        finally:
            writer.close()


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port that the other workers may bind too (SO_REUSEPORT)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"health_port: cannot listen on {host}:{port}: {exc}") from None
    return sock
