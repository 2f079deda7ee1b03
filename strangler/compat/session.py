"""Flask's signed cookie session in a FastAPI port, read and written by Flask's own code.

`LegacySessionMiddleware(app, legacy=flask_app)` opens the session from the request's cookie
with the Flask app's session interface (its secret key, salt, key derivation, serializer and
cookie settings: nothing re-implemented) and saves it the way Flask saves it after a view: the
same Set-Cookie line when it changed, deleted when emptied, `Vary: Cookie` when it was read. So
a login on either backend holds on the other, and a client cannot tell which one answered.

With flask-login on the legacy app (`legacy.login_manager`), the session is read on every
answer, as its after-request hook reads it. Handlers reach it with the `Session` dependency (or
`legacy_session(request)`), which marks it accessed as Flask's `session` proxy does;
`request.session` does not. An answer the Flask app makes in process
(`install_legacy_errors(..., legacy=)`) is made on this same session, and it is saved once per
answer, also on a 500 answered outside this middleware. It is Flask's session
object (a dict that tracks `modified`, `accessed` and `permanent`): write it as in Flask.

After legacy is deleted, keep a bare `Flask(__name__)` configured with the same `SECRET_KEY` and
`SESSION_COOKIE_*` settings as `legacy`: Flask stays installed for its serializer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import Depends
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from werkzeug.wrappers import Response as WerkzeugResponse

from strangler.compat.requests import LegacyRequest, environ_of

_SAVER = "strangler.compat.session_saver"


class LegacySessionMiddleware:
    """A plain ASGI middleware giving each HTTP request `scope["session"]` from Flask's cookie."""

    def __init__(self, app: ASGIApp, legacy: Any) -> None:
        if not getattr(legacy, "secret_key", None):
            raise ValueError(
                "the legacy Flask app has no secret_key: give LegacySessionMiddleware the app "
                "configured as in production (its SECRET_KEY signs the session cookie)"
            )
        self.app = app
        self.legacy = legacy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        interface = self.legacy.session_interface
        opened = interface.open_session(self.legacy, LegacyRequest(environ_of(scope, b"")))
        session = opened if opened is not None else interface.make_null_session(self.legacy)
        scope["session"] = session
        saver = scope[_SAVER] = _Saver(self.legacy, session)

        async def send_saved(message: Message) -> None:
            if message["type"] == "http.response.start":
                saver(MutableHeaders(scope=message))
            await send(message)

        await self.app(scope, receive, send_saved)


class _Saver:
    """Writes Flask's session headers onto one answer, once: here as the answer passes the
    middleware, or sooner by what answers outside it (a 500) or by Flask itself (an answer made
    in a request context of the legacy app holding this session, see `legacy_context`)."""

    def __init__(self, legacy: Any, session: Any) -> None:
        self.legacy = legacy
        self.session = session
        self.done = False

    def __call__(self, headers: MutableHeaders) -> None:
        interface = self.legacy.session_interface
        if self.done or interface.is_null_session(self.session):
            return
        self.done = True
        if hasattr(self.legacy, "login_manager"):
            # flask-login's after-request hook reads the session on every response (for its
            # remember cookie): Flask then adds `Vary: Cookie`.
            self.session.accessed = True
            self.session.pop("_remember", None)  # remember-me cookies are not covered
        saved = WerkzeugResponse()
        interface.save_session(self.legacy, self.session, saved)
        _copy_session_headers(saved, headers)


def save_legacy_session(scope: Scope, headers: MutableHeaders) -> None:
    """Writes the request's session headers (Set-Cookie, `Vary: Cookie`) onto `headers` unless
    they were written; for an answer sent outside LegacySessionMiddleware. Nothing without it."""
    saver = scope.get(_SAVER)
    if saver is not None:
        saver(headers)


@contextmanager
def legacy_context(legacy: Any, scope: Scope) -> Iterator[None]:
    """Runs the block in a request context of `legacy` for this request. With
    LegacySessionMiddleware for the same app, the context holds the port's session: Flask's
    hooks and handlers read and mark that one session (`flask.session` sets `accessed`, as
    `RequestContext.session` does in Flask 3.1), and Flask's `finalize_request` saves it onto
    the answer it makes, so the middleware does not save it again."""
    context = legacy.request_context(environ_of(scope, b""))
    saver = scope.get(_SAVER)
    if saver is None or saver.legacy is not legacy:
        with context:
            yield
        return
    # How Flask hands a context an open session (RequestContext.copy): its constructor's
    # `session`; built from the app's own request_context, so an app's subclass is kept.
    shared = type(context)(
        legacy, context.request.environ, request=context.request, session=saver.session
    )
    with shared:
        yield
    saver.done = True


def _copy_session_headers(saved: WerkzeugResponse, headers: MutableHeaders) -> None:
    """Adds the Set-Cookie lines Flask wrote, and "Cookie" to Vary when Flask added it."""
    for line in saved.headers.getlist("Set-Cookie"):
        headers.append("set-cookie", line)
    if "Cookie" in saved.vary:
        present = [v.strip().lower() for v in headers.get("vary", "").split(",") if v.strip()]
        if "cookie" not in present:
            headers["vary"] = ", ".join([*filter(None, [headers.get("vary")]), "Cookie"])


def legacy_session(request: Request) -> Any:
    """The request's Flask session (LegacySessionMiddleware must wrap the app)."""
    if "session" not in request.scope:
        raise RuntimeError(
            "no legacy session on this request: add it with "
            "app.add_middleware(LegacySessionMiddleware, legacy=flask_app)"
        )
    session = request.scope["session"]
    session.accessed = True  # as Flask's `session` proxy marks it: the answer gets Vary: Cookie
    return session


Session = Annotated[Any, Depends(legacy_session)]
