"""The WSGI bridge: serves the legacy WSGI app as an ASGI app, each request in a sized thread pool.

Each request takes one of two paths, decided from what is known, never by waiting:

- **Lean** (Flask's ordinary responses): the request body is absent or has a Content-Length of at
  most `max_buffered_body`, so it is read on the loop first; the whole WSGI call (the app, then
  joining its body) runs as one job in the pool, and the answer leaves as one `http.response.start`
  and one `http.response.body`. Taken when the app's iterable is a list/tuple, or when it declared
  a Content-Length of at most `max_buffered_body` (Flask does for every non-streamed response).
- **General**: a body of unknown length (chunked) or a big one is read from the worker on demand
  (`RequestBody`); a response of unknown or big length is sent chunk by chunk as the app yields it,
  with at most `send_queue_size` chunks in flight (`Outbox`). Once the body is read, the client's
  disconnect is watched for: the worker stops at its next chunk and closes the iterable.

What a2wsgi (1.10) does and we do not: it joins several `Cookie` fields with ","; it decodes the
query string as ascii (a raw UTF-8 query is a crash); it drops no `_` headers; it sets no
`wsgi.input_terminated` (a chunked upload reads as empty in werkzeug); its `readline(n)` returns
b"" before the first read; it sends the headers at `start_response` (so an app cannot replace
them with `exc_info` when its body fails); it never looks for a disconnect and uvicorn drops sends
to a gone client silently, so an endless generator keeps its thread forever; and an error in the
app before any byte was sent propagates (here: logged and answered 500, as gunicorn does).
"""

from __future__ import annotations

import asyncio
import contextvars
import io
import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any

from strangler.bridge.environ import build_environ
from strangler.bridge.errors import ClientDisconnected
from strangler.bridge.streams import Outbox, RequestBody
from strangler.types import ASGIApp, Environ, Message, Receive, Scope, Send, WSGIApp

logger = logging.getLogger(__name__)

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]

# Worker threads for the legacy app: four times the concurrency of a gunicorn sync worker.
# Measured on one core at 32 connections (scripts/bench): 4 threads serve as many requests as 16,
# and on CPU-bound endpoints keep p99 within 1.2x gunicorn's, where 16 threads double it (the
# GIL time-slices them). An I/O-bound legacy app (database calls) may want more: legacy_threads.
DEFAULT_LEGACY_THREADS = 4

# How long a request waits for a thread before its client is watched for leaving.
WATCH_AFTER = 0.05

_ERROR_HEADERS = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"21")]
_ERROR_BODY = b"Internal Server Error"


def make_bridge(
    wsgi_app: WSGIApp,
    *,
    threads: int = DEFAULT_LEGACY_THREADS,
    send_queue_size: int = 8,
    max_buffered_body: int = 64 * 1024,
) -> ASGIApp:
    """Returns an ASGI app that runs `wsgi_app` in a pool of `threads` worker threads.

    `threads`: one in-flight legacy request (or open stream) per thread. The GIL lets only one run
    Python at a time, so past a few per core more threads only add contention and tail latency;
    they pay off while requests wait on I/O (a database). 4 measured best here: the same
    throughput as 16 and half its p99 on CPU-bound endpoints (docs/performance.md).
    `send_queue_size`: response chunks a streaming app may produce ahead of a slow client.
    `max_buffered_body`: request and response bodies up to this size are held whole in memory
    (the lean path); bigger or unknown-length ones stream.
    """
    return WSGIBridge(
        wsgi_app,
        threads=threads,
        send_queue_size=send_queue_size,
        max_buffered_body=max_buffered_body,
    )


class WSGIBridge:
    """A plain ASGI app serving `app` (WSGI); see the module docstring for the two paths."""

    def __init__(
        self, app: WSGIApp, *, threads: int, send_queue_size: int, max_buffered_body: int
    ) -> None:
        self.app = app
        self.send_queue_size = send_queue_size
        self.max_buffered_body = max_buffered_body
        # An explicit pool, not the loop's default one: its size is the legacy app's concurrency
        # and must not be shared with whatever else calls `run_in_executor(None, ...)`.
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="legacy-wsgi")
        self.threads = threads
        self.busy = 0  # requests given to the pool and not finished: running or waiting
        self._waiting: dict[_Exchange, float] = {}  # lean requests waiting for a thread: since
        self._sweep_timer: asyncio.TimerHandle | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1000})  # WSGI cannot speak websocket
        elif scope["type"] == "lifespan":
            await _serve_lifespan(receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        loop = asyncio.get_running_loop()
        length = _declared_length(scope)
        wsgi_input: io.BytesIO | RequestBody
        if length is None and not _may_have_body(scope):
            wsgi_input = io.BytesIO(b"")
        elif length is not None and length <= self.max_buffered_body:
            body = await _read_body(receive)
            if body is None:
                return  # the client left before sending its request: nobody to answer
            wsgi_input = io.BytesIO(body)
        else:
            wsgi_input = RequestBody(loop, receive)
        exchange = _Exchange(self, loop, receive, send, wsgi_input)
        environ = build_environ(scope, wsgi_input)
        context = contextvars.copy_context()  # contextvars set by the gateway reach the app
        if self.busy >= self.threads and isinstance(wsgi_input, io.BytesIO):
            # Every thread is taken: this request will wait. If its client leaves meanwhile, the
            # app must not run for nobody. Watching costs a task, so one sweep starts it for the
            # requests that have waited long enough for a client to give up.
            self._waiting[exchange] = loop.time()
            if self._sweep_timer is None:
                self._sweep_timer = loop.call_later(WATCH_AFTER, self._sweep, loop)
        self.busy += 1
        try:
            answer = await loop.run_in_executor(self.executor, context.run, exchange.run, environ)
            if answer is not None:
                status, headers, body = answer
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body})
            else:
                await exchange.streamed()
        finally:
            self.busy -= 1
            self._waiting.pop(exchange, None)
            exchange.stop_tasks()

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        """Loop: starts watching the requests that have waited WATCH_AFTER for a thread."""
        self._sweep_timer = None
        now = loop.time()
        for exchange, since in list(self._waiting.items()):
            if exchange.running:
                del self._waiting[exchange]
            elif now - since >= WATCH_AFTER:
                del self._waiting[exchange]
                exchange.watcher = loop.create_task(exchange.watch_gone())
        if self._waiting:
            self._sweep_timer = loop.call_later(WATCH_AFTER, self._sweep, loop)


class _Exchange:
    """One request's WSGI call: `run` in a worker thread, `streamed` on the loop if it streams."""

    def __init__(
        self,
        bridge: WSGIBridge,
        loop: asyncio.AbstractEventLoop,
        receive: Receive,
        send: Send,
        wsgi_input: io.BytesIO | RequestBody,
    ) -> None:
        self.bridge = bridge
        self.loop = loop
        self.receive = receive
        self.send = send
        self.input = wsgi_input
        self.status: int | None = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.length: int | None = None  # Content-Length the app declared
        self.headers_sent = False
        self.written: list[bytes] = []  # chunks given to the legacy `write()` callable
        self.outbox: Outbox | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self.error: BaseException | None = None  # raised after the headers left: abort
        self.stopped = False  # the loop side has finished (or was cancelled)
        self.gone = False  # the client left while the request waited for a thread
        self.running = False  # the worker thread has taken the request
        self.watcher: asyncio.Task[None] | None = None  # sets `gone`

    # --- worker thread -------------------------------------------------------------------------

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
    ) -> Any:
        if exc_info is not None:
            if self.headers_sent:  # PEP 3333: too late to change them; re-raise the app's error
                raise exc_info[1].with_traceback(exc_info[2])
        elif self.status is not None:
            raise RuntimeError(
                "start_response was called twice; pass exc_info to replace the headers of an error"
            )
        self.status = int(status[:3])
        self.length = None
        self.headers = []
        for name, value in headers:
            lowered = name.lower()
            if lowered == "content-length":
                self.length = int(value) if value.isdigit() else None
            self.headers.append((lowered.encode("latin-1"), value.encode("latin-1")))
        return self.written.append

    def run(self, environ: Environ) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        """Calls the app; returns the whole answer (lean path) or None once it was streamed, or
        when the client left while the request waited for a thread (the app is not called)."""
        self.running = True
        if self.gone:
            return None
        if self.watcher is not None:  # running now: the response's own watch takes over
            self.loop.call_soon_threadsafe(self.watcher.cancel)
        try:
            iterable = self.bridge.app(environ, self.start_response)
        except Exception:
            return self._failed(environ)
        try:
            if self.status is not None and (
                type(iterable) in (list, tuple)
                or (self.length is not None and self.length <= self.bridge.max_buffered_body)
            ):
                body = b"".join(iterable)
                return self.status, self.headers, b"".join(self.written) + body
            self._stream(iterable)
            return None
        except ClientDisconnected:
            return None
        except Exception:
            return self._failed(environ)
        finally:
            _close(iterable, environ)
            if self.outbox is not None:
                self.outbox.finish()

    def _stream(self, iterable: Iterable[bytes]) -> None:
        self.outbox = Outbox(self.loop, self.send, self.bridge.send_queue_size)
        self.loop.call_soon_threadsafe(self._start_tasks, self.outbox)
        for chunk in self.written:
            self._send_chunk(chunk)
        for chunk in iterable:
            if chunk:
                self._send_chunk(chunk)
            elif self.outbox.gone:  # an app's b"" keep-alive still notices the disconnect
                raise ClientDisconnected("the client disconnected during the response")
        if not self.headers_sent:
            self._send_headers()
        self.outbox.put({"type": "http.response.body", "body": b""})

    def _send_chunk(self, chunk: bytes) -> None:
        assert self.outbox is not None
        if not self.headers_sent:
            self._send_headers()
        self.outbox.put({"type": "http.response.body", "body": chunk, "more_body": True})

    def _send_headers(self) -> None:
        if self.status is None:
            raise RuntimeError("the WSGI app sent its body before calling start_response")
        assert self.outbox is not None
        self.headers_sent = True
        message = {"type": "http.response.start", "status": self.status, "headers": self.headers}
        self.outbox.put(message)

    def _failed(self, environ: Environ) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        method, path = environ["REQUEST_METHOD"], environ["SCRIPT_NAME"] + environ["PATH_INFO"]
        if self.headers_sent:  # the client must see a broken response, not a short one
            logger.exception("WSGI app failed mid-response to %s %s; aborting it", method, path)
            self.error = RuntimeError(f"the WSGI app failed mid-response to {method} {path}")
            return None
        logger.exception("WSGI app failed on %s %s; answering 500", method, path)
        if self.outbox is None:
            return 500, list(_ERROR_HEADERS), _ERROR_BODY
        self.headers_sent = True
        try:
            self.outbox.put(
                {"type": "http.response.start", "status": 500, "headers": list(_ERROR_HEADERS)}
            )
            self.outbox.put({"type": "http.response.body", "body": _ERROR_BODY})
        except ClientDisconnected:
            pass
        return None

    # --- event loop ----------------------------------------------------------------------------

    def _start_tasks(self, outbox: Outbox) -> None:
        if self.stopped:  # the request was cancelled while the app ran: stop it at its next chunk
            outbox.hang_up()
            return
        body_received = self.input.complete if isinstance(self.input, RequestBody) else None
        self.tasks.append(self.loop.create_task(outbox.pump()))
        self.tasks.append(
            self.loop.create_task(outbox.watch_disconnect(self.receive, body_received))
        )

    async def watch_gone(self) -> None:
        """Loop: notes the client leaving. The body is all read, so the next message can only
        be `http.disconnect` (ASGI servers block until then)."""
        if (await self.receive())["type"] == "http.disconnect":
            self.gone = True

    async def streamed(self) -> None:
        """Waits until the streamed response is sent; re-raises an error that broke it."""
        if self.tasks:
            await self.tasks[0]
        if self.error is not None:
            raise self.error

    def stop_tasks(self) -> None:
        self.stopped = True
        for task in (*self.tasks, *([self.watcher] if self.watcher else [])):
            task.cancel()
        if self.outbox is not None:
            self.outbox.hang_up()


async def _serve_lifespan(receive: Receive, send: Send) -> None:
    """Answers startup and shutdown: the WSGI app has no lifespan of its own."""
    while True:
        message: Message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _read_body(receive: Receive) -> bytes | None:
    """Reads a whole (small) request body on the loop; None if the client disconnected."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _may_have_body(scope: Scope) -> bool:
    """False when HTTP/1 framing says there is no body: no Content-Length, no Transfer-Encoding."""
    if scope.get("http_version", "1.1") not in ("1.0", "1.1"):
        return True
    return any(name == b"transfer-encoding" for name, _ in scope["headers"])


def _close(iterable: Iterable[bytes], environ: Environ) -> None:
    close = getattr(iterable, "close", None)
    if close is not None:
        try:
            close()
        except Exception:
            logger.exception("closing the WSGI iterable of %s failed", environ["PATH_INFO"])
