"""The setup pair's FastAPI port of three endpoints, answering as legacy does. The rest (register,
log in, create an article) stays on legacy, which shares the port's store."""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, Header
from fastapi.responses import JSONResponse

from tests.test_apps.setup_pair import store

app = FastAPI(redirect_slashes=False)  # Flask answers a trailing slash with 404, not a redirect
Authorization = Annotated[str | None, Header()]


def error(status: int, field: str, message: str) -> JSONResponse:
    return JSONResponse({"errors": {field: [message]}}, status)


@app.post("/api/articles/{slug}/favorite")
def favorite(slug: str, authorization: Authorization = None) -> JSONResponse:
    if store.user_of(authorization) is None:
        return error(401, "token", "is missing or invalid")
    article = store.articles.get(slug)
    if article is None:
        return error(404, "article", "not found")
    article["favoritesCount"] += 1
    return JSONResponse({"article": {"slug": slug, "favoritesCount": article["favoritesCount"]}})


@app.get("/api/user")
def current_user(authorization: Authorization = None) -> JSONResponse:
    user = store.user_of(authorization)
    if user is None:
        return error(401, "token", "is missing or invalid")
    return JSONResponse({"user": {"username": user["username"], "email": user["email"]}})


@app.get("/api/profiles/{username}")
def profile(username: str) -> JSONResponse:
    if username not in store.users:
        return error(404, "profile", "not found")
    return JSONResponse({"profile": {"username": username, "following": False}})
