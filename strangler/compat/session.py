"""Flask's signed cookie session in a FastAPI port, read and written by Flask's own code.

`LegacySessionMiddleware(app, legacy=flask_app)` opens the session from the request's cookie
with the Flask app's session interface (its secret key, salt, key derivation, serializer and
cookie settings: nothing re-implemented) and saves it the way Flask saves it after a view: the
same Set-Cookie line when it changed, deleted when emptied, `Vary: Cookie` when it was read. So
a login on either backend holds on the other, and a client cannot tell which one answered.

With flask-login on the legacy app (`legacy.login_manager`), the session is read on every
answer, as its after-request hook reads it. Handlers reach it with the `Session` dependency (or
`legacy_session(request)`), which marks it accessed as Flask's `session` proxy does;
`request.session` does not. It is Flask's session
object (a dict that tracks `modified`, `accessed` and `permanent`): write it as in Flask.

After legacy is deleted, keep a bare `Flask(__name__)` configured with the same `SECRET_KEY` and
`SESSION_COOKIE_*` settings as `legacy`: Flask stays installed for its serializer.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from werkzeug.wrappers import Response as WerkzeugResponse

from strangler.compat.requests import LegacyRequest, environ_of


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

        async def send_saved(message: Message) -> None:
            if message["type"] == "http.response.start" and not interface.is_null_session(session):
                if hasattr(self.legacy, "login_manager"):
                    # flask-login's after-request hook reads the session on every response
                    # (for its remember cookie): Flask then adds `Vary: Cookie`.
                    session.accessed = True
                    session.pop("_remember", None)  # remember-me cookies are not covered
                saved = WerkzeugResponse()
                interface.save_session(self.legacy, session, saved)
                _copy_session_headers(saved, MutableHeaders(scope=message))
            await send(message)

        await self.app(scope, receive, send_saved)


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
