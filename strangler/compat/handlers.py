"""`install_legacy_errors`: every error a port answers, answered as the Flask app answered it.

    unknown path (router 404)            ─┐
    wrong method (router 405, `Allow`)    │    the Flask app's own error handlers, run in
    abort(...) / werkzeug HTTPException  ─┼─►  process, when `legacy` is given; else Werkzeug's
    Starlette/FastAPI HTTPException       │    HTML page for the status, as Flask renders it
    request validation (the style)       ─┤
    any other exception (500)            ─┘

A route raises or lets escape; it never writes error code of its own. The 405's `Allow` names
every method of every route on the path plus the ones Flask adds (OPTIONS, and HEAD with GET).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.wrappers import Response as WerkzeugResponse

from strangler.compat.pages import http_error, werkzeug_response
from strangler.compat.responses import Answered
from strangler.compat.routes import flask_allow, flask_options
from strangler.compat.session import legacy_context, save_legacy_session
from strangler.compat.validation import STYLES, Style

logger = logging.getLogger(__name__)


def path_methods(app: FastAPI, request: Request) -> set[str]:
    """The methods of every route of `app` whose path matches the request's."""
    methods: set[str] = set()
    for route in app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return methods


def install_legacy_errors(
    app: FastAPI, *, validation: str | Style = "werkzeug", legacy: Any = None
) -> None:
    """Makes `app` answer its errors as Flask did (see the module docstring).

    `validation`: "werkzeug" (the 400 page), "webargs" (webargs' 422) or a style from
    strangler.compat.validation. `legacy`: the Flask app, whose registered error handlers
    (`@app.errorhandler(404)`, ...) then make the answers, run in a worker thread.
    """
    style = STYLES[validation] if isinstance(validation, str) else validation

    async def answer(request: Request, error: HTTPException, *, routed: bool = True) -> Response:
        if legacy is None:
            return werkzeug_response(error.get_response())
        return await run_in_threadpool(_legacy_answer, legacy, request, error, routed)

    async def starlette_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        allow = flask_allow(path_methods(app, request)) if exc.status_code == 405 else []
        if allow and request.method == "OPTIONS":  # Flask answers OPTIONS on every route.
            return await flask_options(legacy, request, allow)  # with its request hooks
        # A detail FastAPI made up ("Not Found") is not legacy's description; one a route gave is.
        detail = exc.detail if exc.detail != _phrase(exc.status_code) else None
        try:
            error = http_error(exc.status_code, detail, allow=allow)
        except LookupError:
            return Response(status_code=exc.status_code, headers=exc.headers)
        # The router's 404 (no route took the path) and 405: Flask raises them after its hooks.
        routed = exc.status_code != 405 and "endpoint" in request.scope
        return await answer(request, error, routed=routed)

    async def werkzeug_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if isinstance(exc.response, WerkzeugResponse):  # abort(response): sent as it is
            return werkzeug_response(exc.response)
        return await answer(request, exc)

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if any(error.get("loc", ("",))[0] == "path" for error in exc.errors()):
            # Flask's converters never match such a path: no route, so a 404, whatever the style.
            return await answer(request, http_error(404), routed=False)
        made = style(exc)
        return made if isinstance(made, Response) else await answer(request, made)

    async def answered(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Answered)
        return exc.response()

    async def server_error(request: Request, exc: Exception) -> Response:
        # Flask logs what a view let escape, then answers 500 (its handler's, or the page).
        logger.error("Exception on %s [%s]", request.url.path, request.method, exc_info=exc)
        return await answer(request, InternalServerError(original_exception=exc))

    app.add_exception_handler(StarletteHTTPException, starlette_error)
    app.add_exception_handler(HTTPException, werkzeug_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Answered, answered)
    # Not add_exception_handler(Exception, ...): Starlette re-raises such an exception to the
    # server after the answer (a second traceback in its log), where Flask kept it in the app.
    app.add_middleware(_ServerErrors, answer=server_error)


class _ServerErrors:
    """A plain ASGI middleware answering what the app let escape before its answer started."""

    def __init__(
        self, app: ASGIApp, answer: Callable[[Request, Exception], Awaitable[Response]]
    ) -> None:
        self.app = app
        self.answer = answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            if started:  # Too late to answer: the server ends the response, as for any app.
                raise
            response = await self.answer(Request(scope, receive), exc)
            # Answered outside LegacySessionMiddleware when it was added first: save it here.
            save_legacy_session(scope, response.headers)
            await response(scope, receive, send)


def _phrase(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _legacy_answer(legacy: Any, request: Request, error: HTTPException, routed: bool) -> Response:
    """The Flask app's answer to `error` in a request context of this request, as Flask makes
    it: its handler for the status or class when it registered one, else the exception's own
    page; then its after-request hooks (e.g. CORS headers) and the session's save, as for any
    error it answered. When no route took the request (`routed` false: a router 404 or 405),
    its before-request hooks run first, as Flask runs them before raising the routing error:
    one reading `flask.session` gives the answer `Vary: Cookie`, one answering replaces it."""
    with legacy_context(legacy, request.scope):
        try:
            answered = None if routed else legacy.preprocess_request()
        except HTTPException as raised:  # a hook's abort(): answered as the routing error is
            answered, error = None, raised
        except Exception as raised:  # an error of the app's own: its handler's answer, as in
            answered = legacy.handle_user_exception(raised)  # Flask (none: raised)
        if answered is None:
            answered = legacy.handle_http_exception(error)
        return werkzeug_response(legacy.finalize_request(answered, from_error_handler=True))
