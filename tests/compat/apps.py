"""A small Flask app written as Flask apps are (flask-login, `args.get(type=int)`, `get_json()`,
`abort`, an error handler of its own), and its FastAPI port written with strangler.compat only:
no error code of its own, every error answer comes from the kit."""

from __future__ import annotations

from typing import Annotated, Any

import flask
import flask_login
from fastapi import Depends, FastAPI, Request

from strangler import compat
from strangler.compat.requests import Legacy

SECRET = "compat-tests-secret"
NOTES = {1: "first", 2: "second", 3: "third"}
USERS = {"ada": "lovelace"}


class User(flask_login.UserMixin):
    def __init__(self, name: str) -> None:
        self.id = name


def load_user(name: str) -> User | None:
    return User(name) if name in USERS else None


def make_legacy() -> flask.Flask:
    app = flask.Flask("notes")
    app.secret_key = SECRET
    manager = flask_login.LoginManager(app)
    manager.user_loader(load_user)

    @app.errorhandler(403)
    def forbidden(error: Exception) -> Any:
        return flask.jsonify({"error": "forbidden", "code": 403}), 403

    @app.get("/notes")
    def notes() -> Any:
        limit = flask.request.args.get("limit", 2, type=int)
        tags = flask.request.args.getlist("tag")
        return flask.jsonify({"notes": list(NOTES.values())[:limit], "tags": tags})

    @app.get("/notes/<int:note_id>")
    def note(note_id: compat.IntPath) -> Any:
        if note_id not in NOTES:
            flask.abort(404, f"No note {note_id}.")
        return flask.jsonify({"note": NOTES[note_id]})

    @app.post("/notes")
    def create() -> Any:
        data = flask.request.get_json()
        if not isinstance(data, dict) or "text" not in data:
            flask.abort(400)
        return flask.jsonify(
            {"created": data["text"], "via": flask.request.headers.get("X-Via")}
        ), 201

    @app.post("/echo")
    def echo() -> Any:
        return flask.jsonify({"json": flask.request.get_json(silent=True), "forced": None})

    @app.post("/login")
    def login() -> Any:
        name = flask.request.form.get("name", "")
        if USERS.get(name) != flask.request.form.get("password"):
            flask.abort(401)
        flask_login.login_user(User(name))
        return flask.jsonify({"user": name})

    @app.get("/me")
    @flask_login.login_required
    def me() -> Any:
        return flask.jsonify({"user": flask_login.current_user.id})

    @app.delete("/notes/<int:note_id>")
    def delete(note_id: int) -> Any:
        flask.abort(403)

    return app


Me = Annotated[Any, Depends(compat.login_required(load_user))]


def make_port(legacy: flask.Flask) -> FastAPI:
    app = FastAPI(default_response_class=compat.FlaskJSONResponse, redirect_slashes=False)
    app.add_middleware(compat.LegacySessionMiddleware, legacy=legacy)
    compat.install_legacy_errors(app, legacy=legacy)

    @app.get("/notes")
    async def notes(
        request: Request, limit: Annotated[int, compat.query_arg("limit", 2, type=int)]
    ) -> Any:
        tags = compat.requests.args_of(request).args.getlist("tag")
        return compat.jsonify({"notes": list(NOTES.values())[:limit], "tags": tags})

    @app.get("/notes/{note_id}")
    async def note(note_id: compat.IntPath) -> Any:
        if note_id not in NOTES:
            compat.abort(404, f"No note {note_id}.")
        return compat.jsonify({"note": NOTES[note_id]})

    @app.post("/notes")
    async def create(request: Legacy) -> Any:
        data = request.get_json()
        if not isinstance(data, dict) or "text" not in data:
            compat.abort(400)
        return compat.jsonify({"created": data["text"], "via": request.headers.get("X-Via")}, 201)

    @app.post("/echo")
    async def echo(request: Legacy) -> Any:
        return compat.jsonify({"json": request.get_json(silent=True), "forced": None})

    @app.post("/login")
    async def login(request: Request, legacy_request: Legacy) -> Any:
        name = legacy_request.form.get("name", "")
        if USERS.get(name) != legacy_request.form.get("password"):
            compat.abort(401)
        compat.login_user(request, name)
        return compat.jsonify({"user": name})

    @app.get("/me")
    async def me(user: Me) -> Any:
        return compat.jsonify({"user": user.id})

    @app.delete("/notes/{note_id}")
    async def delete(note_id: compat.IntPath) -> Any:
        compat.abort(403)

    app.router.routes.extend(compat.implicit_routes(app.router.routes))
    return app
