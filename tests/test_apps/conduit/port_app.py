"""The Conduit pair's port: FastAPI, five of legacy's endpoints, the same CORS headers.

It serves `GET /api/articles/{slug}` but not legacy's `GET /api/articles/feed` (which that
template also matches: `feed` would be a slug here), nor `DELETE /api/articles/{slug}`, nor
OPTIONS preflights: those stay on legacy, as the routing sends them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse, Response

from tests.test_apps.conduit import store

app = FastAPI(docs_url=None, redoc_url=None)
Authorization = Annotated[str | None, Header()]


@app.exception_handler(store.Problem)
async def problem(request: Request, exc: store.Problem) -> JSONResponse:
    return JSONResponse(exc.body, status_code=exc.status)


@app.middleware("http")
async def cors(request: Request, call_next: Any) -> Response:
    response: Response = await call_next(request)
    for name, value in store.cors_headers(request.headers.get("origin"), None):
        response.headers[name] = value
    return response


@app.get("/api/user")
def current_user(authorization: Authorization = None) -> dict[str, Any]:
    return store.user_view(store.required(authorization))


@app.get("/api/profiles/{username}")
def profile(username: str, authorization: Authorization = None) -> dict[str, Any]:
    return store.profile(username, store.user_of(authorization))


@app.get("/api/articles")
def articles(request: Request, authorization: Authorization = None) -> dict[str, Any]:
    return store.articles(dict(request.query_params), store.user_of(authorization))


@app.get("/api/articles/{slug}")
def article(slug: str, authorization: Authorization = None) -> dict[str, Any]:
    return store.article(slug, store.user_of(authorization))


@app.post("/api/articles/{slug}/favorite")
def favorite(slug: str, authorization: Authorization = None) -> dict[str, Any]:
    return store.favorite(slug, store.required(authorization), on=True)
