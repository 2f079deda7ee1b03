"""strangler.compat's legacy session against Flask's: `Vary: Cookie` and `Set-Cookie` on the
answers Flask gives before or after a view, not only on the ones a port's handler makes (#26)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import flask
import pytest
from fastapi import FastAPI

from strangler import compat
from tests.compat.differential import Send, differential


def make_legacy(*, reads_session: bool) -> flask.Flask:
    """flaskr's shape: an app-wide before-request hook (reading the session, or not) and views
    that fail after touching the session."""
    app = flask.Flask("hooks")
    app.secret_key = "compat-session-secret"

    @app.before_request
    def load_user() -> Any:
        if flask.request.headers.get("X-Block"):
            flask.abort(401)  # a hook's answer replaces the router's 404, as in Flask
        if reads_session:
            flask.g.user = flask.session.get("user_id")
        return None

    @app.post("/read-then-fail")
    def read_then_fail() -> Any:
        flask.session.get("user_id")
        raise OverflowError("Python int too large to convert to SQLite INTEGER")

    @app.post("/write-then-fail")
    def write_then_fail() -> Any:
        flask.session["user_id"] = 7
        raise OverflowError("Python int too large to convert to SQLite INTEGER")

    return app


def make_port(
    legacy: flask.Flask, *, errors_from_legacy: bool = True, session_first: bool = False
) -> FastAPI:
    """The port; `session_first` adds the session middleware before the error answers (so
    inside them), the order tests/compat/apps.py and the worked example's port use."""
    app = FastAPI()
    if session_first:
        app.add_middleware(compat.LegacySessionMiddleware, legacy=legacy)
    compat.install_legacy_errors(app, legacy=legacy if errors_from_legacy else None)
    if not session_first:
        app.add_middleware(compat.LegacySessionMiddleware, legacy=legacy)

    @app.post("/read-then-fail")
    def read_then_fail(session: compat.Session) -> Any:
        session.get("user_id")
        raise OverflowError("Python int too large to convert to SQLite INTEGER")

    @app.post("/write-then-fail")
    def write_then_fail(session: compat.Session) -> Any:
        session["user_id"] = 7
        raise OverflowError("Python int too large to convert to SQLite INTEGER")

    app.router.routes.extend(compat.implicit_routes(app.router.routes))
    return app


@pytest.fixture(params=[True, False], ids=["hook-reads-session", "hook-ignores-session"])
async def send(request: pytest.FixtureRequest) -> AsyncIterator[Send]:
    legacy = make_legacy(reads_session=request.param)
    async with differential(legacy, make_port(legacy)) as sending:
        yield sending


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("POST", "/nan/delete", {}),
        ("GET", "/read-then-fail", {}),
        ("GET", "/nowhere", {"X-Block": "1"}),
    ],
    ids=["router-404", "router-405", "hook-aborts"],
)
async def test_a_router_error_gets_the_session_headers_legacy_hooks_give(
    send: Send, method: str, path: str, headers: dict[str, str]
) -> None:
    """A path or method no route serves runs legacy's before-request hooks as Flask does, so
    the answer says `Vary: Cookie` exactly when they read the session."""
    assert await send(method, path, headers=headers) == []


@pytest.mark.parametrize("path", ["/read-then-fail", "/write-then-fail"])
async def test_a_500_carries_the_session_headers_flask_gives(send: Send, path: str) -> None:
    """An exception a handler lets escape after touching the session gets Flask's 500 with its
    `Vary: Cookie` and `Set-Cookie` (found by the fuzzer on flaskr)."""
    assert await send("POST", path) == []


@pytest.mark.parametrize("errors_from_legacy", [True, False], ids=["legacy-handlers", "pages"])
@pytest.mark.parametrize("session_first", [True, False], ids=["session-inside", "session-outside"])
@pytest.mark.parametrize("path", ["/read-then-fail", "/write-then-fail"])
async def test_a_500_carries_the_session_headers_in_any_middleware_order(
    path: str, session_first: bool, errors_from_legacy: bool
) -> None:
    """The 500 saves the session whichever of the two is added first, with the legacy app's
    error handlers or the kit's own pages."""
    legacy = make_legacy(reads_session=False)
    port = make_port(legacy, errors_from_legacy=errors_from_legacy, session_first=session_first)
    async with differential(legacy, port) as send:
        assert await send("POST", path) == []
