"""The Conduit pair's legacy app: Flask, every endpoint, CORS headers on every answer."""

from __future__ import annotations

from flask import Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue

from tests.test_apps.conduit import store

app = Flask(__name__)


@app.errorhandler(store.Problem)
def problem(exc: store.Problem) -> ResponseReturnValue:
    return jsonify(exc.body), exc.status


@app.after_request
def cors(response: Response) -> Response:
    preflight = request.method == "OPTIONS"
    method = request.headers.get("Access-Control-Request-Method") if preflight else None
    for name, value in store.cors_headers(request.headers.get("Origin"), method):
        response.headers[name] = value
    return response


def _viewer() -> dict[str, object] | None:
    return store.user_of(request.headers.get("Authorization"))


def _user() -> dict[str, object]:
    return store.required(request.headers.get("Authorization"))


@app.post("/api/users")
def register() -> ResponseReturnValue:
    return jsonify(store.register(request.get_json(silent=True))), 201


@app.post("/api/users/login")
def login() -> ResponseReturnValue:
    return jsonify(store.login(request.get_json(silent=True)))


@app.get("/api/user")
def current_user() -> ResponseReturnValue:
    return jsonify(store.user_view(_user()))


@app.get("/api/profiles/<username>")
def profile(username: str) -> ResponseReturnValue:
    return jsonify(store.profile(username, _viewer()))


@app.get("/api/articles")
def articles() -> ResponseReturnValue:
    return jsonify(store.articles(request.args.to_dict(), _viewer()))


@app.get("/api/articles/feed")
def feed() -> ResponseReturnValue:
    return jsonify(store.feed(_user()))


@app.post("/api/articles")
def create_article() -> ResponseReturnValue:
    return jsonify(store.create_article(request.get_json(silent=True), _user())), 201


@app.get("/api/articles/<slug>")
def article(slug: str) -> ResponseReturnValue:
    return jsonify(store.article(slug, _viewer()))


@app.delete("/api/articles/<slug>")
def delete_article(slug: str) -> ResponseReturnValue:
    store.delete_article(slug, _user())
    return "", 204


@app.post("/api/articles/<slug>/favorite")
def favorite(slug: str) -> ResponseReturnValue:
    return jsonify(store.favorite(slug, _user(), on=True))


@app.delete("/api/articles/<slug>/favorite")
def unfavorite(slug: str) -> ResponseReturnValue:
    return jsonify(store.favorite(slug, _user(), on=False))
