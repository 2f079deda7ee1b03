"""The WSGI bridge: serves the legacy WSGI app as an ASGI app, each request in a pool thread.

A request body is read on the loop first when it is absent or has a Content-Length of at most
`max_buffered_body`; a body of unknown length (chunked) or a big one is read from the worker thread
on demand (`RequestBody`).

The answer takes one of two paths, decided by what the app returned, never by waiting for it:

- **Whole**: the app returned a list or tuple, or the chunks it yielded before pausing already make
  up the Content-Length it declared (Flask's ordinary responses: one chunk, the whole body), or it
  yielded nothing. The answer leaves as one `http.response.start` and one `http.response.body`,
  and the thread goes on to finish the iterable while the loop sends.
- **Streamed**: anything else is sent as the app yields it, the first chunk at once, with at most
  `send_queue_size` chunks in flight (`Outbox`). The client's disconnect is watched for (once the
  request body is read): the worker stops at the app's next chunk and closes the iterable, as
  gunicorn does at its next write.

A request that waited for a thread is watched too, and if its client left meanwhile the app is
not called for nobody.

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
import contextlib
import contextvars
import functools
import io
import logging
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from strangler.bridge.environ import build_environ
from strangler.bridge.errors import ClientDisconnected
from strangler.bridge.pool import LegacyPool
from strangler.bridge.streams import Outbox, RequestBody, read_whole_body
from strangler.types import Environ, Message, Receive, Scope, Send, WSGIApp

logger = logging.getLogger(__name__)

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]

# The legacy pool (strangler.bridge.pool): 4 threads at least, as many as 64 while they wait.
# 4 measured best for the CPU-bound example on one core: the throughput of 16 and half its p99.
MIN_LEGACY_THREADS = 4
MAX_LEGACY_THREADS = 64

# How long a request waits for a thread before its client is watched for leaving.
WATCH_AFTER = 0.05

_ERROR_HEADERS = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"21")]
_ERROR_BODY = b"Internal Server Error"

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


def make_bridge(
    wsgi_app: WSGIApp,
    *,
    threads: int | None = None,
    send_queue_size: int = 8,
    max_buffered_body: int = 64 * 1024,
) -> WSGIBridge:
    """Returns an ASGI app that runs `wsgi_app` in a pool of worker threads.

    `threads`: one in-flight legacy request (or open stream) per thread. None: the pool adapts,
    from MIN_LEGACY_THREADS to MAX_LEGACY_THREADS, growing while its threads wait (I/O) and not
    while they compute (strangler.bridge.pool). A number pins it.
    `send_queue_size`: response chunks a streaming app may produce ahead of a slow client.
    `max_buffered_body`: request bodies up to this size are read whole before the app is called;
    bigger or unknown-length ones are read as the app reads them.
    """
    if threads is None:
        pool = LegacyPool(MIN_LEGACY_THREADS, MAX_LEGACY_THREADS)
    else:
        pool = LegacyPool(threads, threads)
    return WSGIBridge(
        wsgi_app, pool=pool, send_queue_size=send_queue_size, max_buffered_body=max_buffered_body
    )


class WSGIBridge:
    """A plain ASGI app serving `app` (WSGI); see the module docstring for the two paths."""

    def __init__(
        self, app: WSGIApp, *, pool: LegacyPool, send_queue_size: int, max_buffered_body: int
    ) -> None:
        self.app = app
        self.pool = pool
        self.send_queue_size = send_queue_size
        self.max_buffered_body = max_buffered_body
        self.busy = 0  # requests given to the pool and not answered: running or waiting
        self._waiting: dict[_Exchange, float] = {}  # requests waiting for a thread: since
        self._sweep_timer: asyncio.TimerHandle | None = None
        self._sweep_loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1000})  # WSGI cannot speak websocket
        elif scope["type"] == "lifespan":
            await _serve_lifespan(receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        loop = asyncio.get_running_loop()
        length, chunked = _framing(scope)
        wsgi_input: io.BytesIO | RequestBody
        if length is None and not chunked:
            wsgi_input = io.BytesIO(b"")
        elif length is not None and length <= self.max_buffered_body:
            body = await read_whole_body(receive)
            if body is None:
                return  # the client left before sending its request: nobody to answer
            wsgi_input = io.BytesIO(body)
        else:
            wsgi_input = RequestBody(loop, receive)
        exchange = _Exchange(self, loop, receive, send, wsgi_input)
        environ = build_environ(scope, wsgi_input)
        context = contextvars.copy_context()  # contextvars set by the gateway reach the app
        if self.busy >= self.pool.limit and isinstance(wsgi_input, io.BytesIO):
            # Every thread is taken: this request will likely wait. If its client leaves
            # meanwhile, the app must not run for nobody. Watching costs a task, so one sweep
            # starts it for the requests that have waited long enough for a client to give up.
            self._waiting[exchange] = loop.time()
            if self._sweep_timer is None or self._sweep_loop is not loop:
                # (a timer left on another, closed loop would never fire: tests make a loop each)
                self._sweep_loop = loop
                self._sweep_timer = loop.call_later(WATCH_AFTER, self._sweep, loop)
        self.busy += 1
        try:
            self.pool.submit(functools.partial(context.run, exchange.run, environ), loop)
            answer = await exchange.answered
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
            if exchange.running or exchange.loop is not loop:
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
        # The whole answer, or None once it streams (or nothing is to be sent); set from the
        # worker thread, as soon as it is known: the thread may still be finishing the iterable.
        self.answered: asyncio.Future[Answer | None] = loop.create_future()
        self.settled = False  # the worker has set `answered` (worker thread only)
        self.status: int | None = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.length: int | None = None  # Content-Length the app declared
        self.headers_sent = False
        self.sent = 0  # body bytes streamed
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
            if self.headers_sent or self.settled or self.written:  # PEP 3333: too late: re-raise
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

    def run(self, environ: Environ) -> None:
        """The pool's job: calls the app and answers; never raises."""
        self.running = True
        try:
            if self.gone or self.stopped:  # the client left, or the caller gave up (a shadow
                return  # call's timeout) while the request waited: the app is not called
            self._call(environ)
        finally:
            self._settle(None)

    def _call(self, environ: Environ) -> None:
        try:
            iterable = self.bridge.app(environ, self.start_response)
        except Exception:
            self._settle(self._failed(environ))
            return
        try:
            if self.status is not None and type(iterable) in (list, tuple):
                self._settle(self._whole([*self.written, *iterable]))
            else:
                self._iterate(iterable)
        except ClientDisconnected:
            pass
        except Exception:
            self._settle(self._failed(environ))
        finally:
            _close(iterable, environ)
            if self.outbox is not None:
                self.outbox.finish()

    def _iterate(self, iterable: Iterable[bytes]) -> None:
        """Answers whole if the body is complete before the app pauses, else streams it."""
        held: list[bytes] = []
        if self.length == 0 and self.status is not None:  # complete before the first chunk
            self._settle(self._whole([]))
        for yielded in iterable:
            for chunk in (*self._written(), yielded):  # what write() got came before the yield
                self._take(chunk, held)
        for chunk in self._written():
            self._take(chunk, held)
        if self.outbox is not None:
            if not self.headers_sent:
                self._send_headers()
            self.outbox.put({"type": "http.response.body", "body": b""})
        elif not self.settled:
            self._settle(self._whole(held))

    def _written(self) -> list[bytes]:
        """Takes what the app gave `write()` since last asked (the callable keeps this list)."""
        chunks = list(self.written)
        del self.written[:]
        return chunks

    def _take(self, chunk: bytes, held: list[bytes]) -> None:
        """One chunk of the app's body: streamed, held toward a whole answer, or dropped."""
        if self.outbox is not None:
            if chunk:
                self._send_chunk(chunk)
            elif self.outbox.gone:  # an app's b"" keep-alive still notices the disconnect
                raise ClientDisconnected("the client disconnected during the response")
        elif self.settled:
            return  # answered whole: the app finishes; bytes past its length are dropped
        elif chunk:
            held.append(chunk)
            if self.length is not None and sum(map(len, held)) >= self.length:
                self._settle(self._whole(held))  # all the client expects: answer now
            else:  # the next chunk may take any time: what the client has waits for nothing
                self._start_stream(held)

    def _whole(self, chunks: list[bytes]) -> Answer:
        if self.status is None:
            raise RuntimeError("the WSGI app returned its body before calling start_response")
        body = b"".join(chunks)
        if self.length is not None:
            body = body[: self.length]  # as gunicorn: never more than the app declared
        return self.status, self.headers, body

    def _settle(self, answer: Answer | None) -> None:
        """Hands the loop the whole answer, or None: it streams or nothing is to be sent."""
        if self.settled:
            return
        self.settled = True
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting
            self.loop.call_soon_threadsafe(_set_result, self.answered, answer)

    def _start_stream(self, held: list[bytes]) -> None:
        self.outbox = Outbox(self.loop, self.send, self.bridge.send_queue_size)
        self.loop.call_soon_threadsafe(self._start_tasks, self.outbox)
        self._settle(None)
        for chunk in held:
            self._send_chunk(chunk)

    def _send_chunk(self, chunk: bytes) -> None:
        assert self.outbox is not None
        if self.length is not None:  # as gunicorn: never more than the app declared
            chunk = chunk[: self.length - self.sent]
            if not chunk:
                return
        if not self.headers_sent:
            self._send_headers()
        self.sent += len(chunk)
        self.outbox.put({"type": "http.response.body", "body": chunk, "more_body": True})

    def _send_headers(self) -> None:
        if self.status is None:
            raise RuntimeError("the WSGI app sent its body before calling start_response")
        assert self.outbox is not None
        self.headers_sent = True
        message = {"type": "http.response.start", "status": self.status, "headers": self.headers}
        self.outbox.put(message)

    def _failed(self, environ: Environ) -> Answer | None:
        """Logs the app's exception; returns the 500 to answer, or None if it is too late."""
        method, path = environ["REQUEST_METHOD"], environ["SCRIPT_NAME"] + environ["PATH_INFO"]
        if self.settled and self.outbox is None:  # answered whole: the client has it all
            logger.exception("WSGI app failed after answering %s %s", method, path)
            return None
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
        if self.stopped or self.gone:  # cancelled, or the client left: stop at the next chunk
            outbox.hang_up()
            return
        if self.watcher is not None:  # the stream's own watch takes over: one reader of receive
            self.watcher.cancel()
        body_received = self.input.complete if isinstance(self.input, RequestBody) else None
        self.tasks.append(self.loop.create_task(outbox.pump()))
        self.tasks.append(
            self.loop.create_task(outbox.watch_disconnect(self.receive, body_received))
        )

    async def watch_gone(self) -> None:
        """Loop: notes the client leaving. The body was read (or there is none, and the server
        gives one empty `http.request`), so only `http.disconnect` ends this."""
        while (await self.receive())["type"] != "http.disconnect":
            pass
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


def _set_result(future: asyncio.Future[Answer | None], answer: Answer | None) -> None:
    if not future.done():  # the request may have been cancelled meanwhile
        future.set_result(answer)


async def _serve_lifespan(receive: Receive, send: Send) -> None:
    """Answers startup and shutdown: the WSGI app has no lifespan of its own."""
    while True:
        message: Message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def _framing(scope: Scope) -> tuple[int | None, bool]:
    """The body's declared length (None: none, or not a number), and whether it may come
    without one: a Transfer-Encoding, or HTTP/2 and later, whose frames need neither. With
    neither, HTTP/1 framing says there is no body. One pass over the headers: every legacy
    request asks."""
    length = None
    chunked = scope.get("http_version", "1.1") not in ("1.0", "1.1")
    for name, value in scope["headers"]:
        if name == b"content-length":
            if length is None:  # the first one counts, as before
                length = int(value) if value.isdigit() else -1
        elif name == b"transfer-encoding":
            chunked = True
    return (length if length != -1 else None), chunked


def _close(iterable: Iterable[bytes], environ: Environ) -> None:
    close = getattr(iterable, "close", None)
    if close is not None:
        try:
            close()
        except Exception:
            logger.exception("closing the WSGI iterable of %s failed", environ["PATH_INFO"])
