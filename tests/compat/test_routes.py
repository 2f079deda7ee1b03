"""strangler.compat's automatic OPTIONS answers against Flask's: Flask runs its request hooks on
them (before_request reading the session: `Vary: Cookie`; after_request adding CORS headers;
a hook's abort), and so does the port given the legacy app (#26)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import flask
import httpx
import pytest
from fastapi import FastAPI

from strangler import compat
from tests.compat.differential import Send, differential


class Refused(Exception):
    """An app's own error (not an HTTPException), answered by its error handler."""


def make_legacy() -> flask.Flask:
    """An app whose hooks change every answer: one reads the session (flaskr's
    `load_logged_in_user`), one may refuse (abort, or an error of its own its handler
    answers), one adds a CORS header (as Flask-CORS does)."""
    app = flask.Flask("options")
    app.secret_key = "compat-options-secret"

    @app.errorhandler(Refused)
    def refused(error: Refused) -> Any:
        return {"error": "refused"}, 403

    @app.before_request
    def load_user() -> Any:
        if flask.request.headers.get("X-Block"):
            flask.abort(401)
        if flask.request.headers.get("X-Refuse"):
            raise Refused
        flask.g.user = flask.session.get("user_id")
        return None

    @app.after_request
    def cors(response: flask.Response) -> flask.Response:
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    @app.route("/notes", methods=["GET", "POST"])
    def notes() -> Any:
        return {"notes": []}

    @app.delete("/notes/<int:id>")
    def delete(id: int) -> Any:
        return {"deleted": id}

    return app


def make_port(legacy: flask.Flask, *, implicit: bool) -> FastAPI:
    """The port on the kit; without `implicit`, its OPTIONS are answered by the router's 405."""
    app = FastAPI()
    compat.install_legacy_errors(app, legacy=legacy)
    app.add_middleware(compat.LegacySessionMiddleware, legacy=legacy)

    @app.api_route("/notes", methods=["GET", "POST"])
    def notes() -> Any:
        return {"notes": []}

    @app.delete("/notes/{id}")
    def delete(id: compat.IntPath) -> Any:
        return {"deleted": id}

    if implicit:
        app.router.routes.extend(compat.implicit_routes(app.router.routes, legacy=legacy))
    return app


@pytest.fixture(params=[True, False], ids=["implicit-routes", "router-405"])
async def send(request: pytest.FixtureRequest) -> AsyncIterator[Send]:
    legacy = make_legacy()
    async with differential(legacy, make_port(legacy, implicit=request.param)) as sending:
        yield sending


@pytest.mark.parametrize(
    ("path", "headers"),
    [("/notes", {}), ("/notes/3", {}), ("/notes", {"X-Block": "1"}), ("/notes", {"X-Refuse": "1"})],
    ids=["route", "route-with-parameter", "hook-aborts", "hook-raises-a-handled-error"],
)
async def test_an_automatic_options_answer_runs_the_legacy_request_hooks(
    send: Send, path: str, headers: dict[str, str]
) -> None:
    """OPTIONS on a route of the port answers as Flask's automatic OPTIONS: `Vary: Cookie` from
    the hook that read the session, the after-request hook's header, a hook's 401 instead, or
    the answer of the app's handler for an error of its own a hook raised (#26)."""
    assert await send("OPTIONS", path, headers=headers) == []


async def test_without_the_legacy_app_the_options_answer_is_flasks_bare_one() -> None:
    """Without `legacy=`, implicit_routes answers 200, an empty body and the `Allow` header."""
    app = FastAPI()

    @app.get("/notes")
    def notes() -> Any:
        return {"notes": []}

    app.router.routes.extend(compat.implicit_routes(app.router.routes))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        answer = await client.options("/notes")
    assert (answer.status_code, answer.content) == (200, b"")
    assert answer.headers["allow"] == "GET, HEAD, OPTIONS"
    assert answer.headers["content-type"] == "text/html; charset=utf-8"


@pytest.mark.parametrize("headers", [{}, {"X-Block": "1"}, {"X-Refuse": "1"}])
async def test_a_path_no_route_takes_answers_as_flask_after_its_hooks(
    send: Send, headers: dict[str, str]
) -> None:
    """A path of neither app answers Flask's 404 after the before-request hooks, as Flask
    does: the hook's abort, or its handler's answer to an error of the app's own (#26)."""
    assert await send("GET", "/nowhere", headers=headers) == []
