"""Exceptions the apps raise in process, caught on their way out and named in the report.

A server answers an app's exception with a 500; so does an in-process contract run, and the
report says which exception it was (`ValueError: ...`), so a 500 that legacy never gave reads as
the bug it is. Three places see them:

- Flask catches a view's exception itself and answers its own 500 page: its
  `got_request_exception` signal names it;
- any other WSGI app's exception escapes its call: `wsgi()` wraps the app;
- an ASGI app's exception (FastAPI re-raises after its 500, even with a catch-all handler)
  escapes the gateway: `asgi()` wraps it, and httpx's transport answers 500 for it.

Requests of a contract run go one at a time, so the exceptions seen since the last `take()`
belong to the request in flight. An exception raised after the response started (a stream cut
off) leaves the client a broken answer, not a 500: `broken` says so.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from strangler.types import (
    ASGIApp,
    Environ,
    Message,
    Receive,
    Scope,
    Send,
    StartResponse,
    WSGIApp,
)


class Raised:
    """The exceptions raised while the current request was served."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the legacy app runs in the bridge's threads
        self._seen: list[BaseException] = []
        self.broken = False  # an exception came after the response had started

    def note(self, exc: BaseException) -> None:
        with self._lock:
            if not any(exc is seen for seen in self._seen):  # one exception, seen twice
                self._seen.append(exc)

    def take(self) -> tuple[str | None, bool]:
        """`Type: message` of each exception noted since the last call (None if none), and
        whether the answer was broken off; then forgets them."""
        with self._lock:
            seen, self._seen = self._seen, []
            broken, self.broken = self.broken, False
        return "; ".join(f"{type(e).__name__}: {e}" for e in seen) or None, broken

    def asgi(self, app: ASGIApp) -> ASGIApp:
        """`app`, noting what escapes it (and letting it escape)."""

        async def noting(scope: Scope, receive: Receive, send: Send) -> None:
            started = finished = False

            async def sending(message: Message) -> None:
                nonlocal started, finished
                if message["type"] == "http.response.start":
                    started = True
                elif message["type"] == "http.response.body" and not message.get("more_body"):
                    finished = True
                await send(message)

            try:
                await app(scope, receive, sending)
            except Exception as exc:
                self.note(exc)
                # A 500 page sent whole (Starlette re-raises after it) is an answer; a response
                # begun and never finished is not.
                self.broken = self.broken or (started and not finished)
                raise

        return noting

    def wsgi(self, app: WSGIApp) -> WSGIApp:
        """`app`, noting what escapes its call; `.app` leads discovery to the app itself."""
        return _NotingWSGI(app, self)

    @contextlib.contextmanager
    def watching_flask(self, app: Any) -> Iterator[None]:
        """Notes the exceptions a Flask app turns into its own 500 page, while in the block."""
        try:
            from flask import Flask, got_request_exception
        except ImportError:  # not a Flask app's world
            yield
            return
        if not isinstance(app, Flask):
            yield
            return

        def noted(sender: Any, exception: BaseException, **_: Any) -> None:
            self.note(exception)

        got_request_exception.connect(noted, app)
        try:
            yield
        finally:
            got_request_exception.disconnect(noted, app)


class _NotingWSGI:
    def __init__(self, app: WSGIApp, raised: Raised) -> None:
        self.app = app
        self._raised = raised

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        try:
            return self.app(environ, start_response)
        except Exception as exc:
            self._raised.note(exc)
            raise
