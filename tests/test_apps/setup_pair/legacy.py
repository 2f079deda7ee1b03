"""The setup pair's legacy Flask app: register, log in, write articles, favorite, read profiles.

Only legacy registers, logs in and creates articles, so the corpus pins those steps to it."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue

from tests.test_apps.setup_pair import store

app = Flask(__name__)
store.reset()


def error(status: int, field: str, message: str) -> ResponseReturnValue:
    return jsonify(errors={field: [message]}), status


def body(key: str) -> dict[str, Any]:
    data = request.get_json(silent=True)
    inner = data.get(key) if isinstance(data, dict) else None
    return inner if isinstance(inner, dict) else {}


@app.post("/api/users")
def register() -> ResponseReturnValue:
    data = body("user")
    username, email, password = data.get("username"), data.get("email"), data.get("password")
    if not all(isinstance(v, str) and v for v in (username, email, password)):
        return error(422, "user", "username, email and password are required")
    if username in store.users:
        return error(409, "username", "has already been taken")
    user = store.add_user(str(username), str(email), str(password))
    token = store.token_for(user["username"])
    view = {k: user[k] for k in ("username", "email", "createdAt")}
    return jsonify(user={**view, "token": token}), 201


@app.post("/api/users/login")
def login() -> ResponseReturnValue:
    store.logins[0] += 1
    data = body("user")
    found = next((u for u in store.users.values() if u["email"] == data.get("email")), None)
    if found is None or found["password_hash"] != store.password_hash(str(data.get("password"))):
        return error(401, "credentials", "are invalid")
    view = {k: found[k] for k in ("username", "email", "createdAt")}
    return jsonify(user={**view, "token": store.token_for(found["username"])})


@app.post("/api/articles")
def create_article() -> ResponseReturnValue:
    user = store.user_of(request.headers.get("Authorization"))
    if user is None:
        return error(401, "token", "is missing or invalid")
    data = body("article")
    title, text = data.get("title"), data.get("body")
    if not (isinstance(title, str) and title and isinstance(text, str)):
        return error(422, "article", "title and body are required")
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    article = {
        "slug": slug,
        "title": title,
        "body": text,
        "author": user["username"],
        "createdAt": store.now(),
        "favoritesCount": 0,
    }
    store.articles[slug] = article
    return jsonify(article=article), 201


@app.post("/api/articles/<slug>/favorite")
def favorite(slug: str) -> ResponseReturnValue:
    if store.user_of(request.headers.get("Authorization")) is None:
        return error(401, "token", "is missing or invalid")
    article = store.articles.get(slug)
    if article is None:
        return error(404, "article", "not found")
    article["favoritesCount"] += 1
    return jsonify(article={"slug": slug, "favoritesCount": article["favoritesCount"]})


@app.get("/api/user")
def current_user() -> ResponseReturnValue:
    user = store.user_of(request.headers.get("Authorization"))
    if user is None:
        return error(401, "token", "is missing or invalid")
    return jsonify(user={"username": user["username"], "email": user["email"]})


@app.get("/api/profiles/<username>")
def profile(username: str) -> ResponseReturnValue:
    user = store.users.get(username)
    if user is None:
        return error(404, "profile", "not found")
    return jsonify(profile={"username": username, "following": False})
