"""The pair's FastAPI ports: `app` (right: Starlette's CORSMiddleware, set as legacy's CORS),
`forgets_cors` (no CORS at all: a browser front end can no longer read it) and `adds_cache`
(right CORS, plus a Cache-Control legacy never sent: caches keep answers legacy had fetched
again)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

FRONT_END = "https://app.example"
ARTICLES = {1: "Strangler figs", 2: "Flags, not branches"}


def port(*, cors: bool = True, cache_control: str | None = None) -> FastAPI:
    """The port, with CORS or without, and with a Cache-Control on the list or not."""
    router = APIRouter()

    @router.get("/articles")
    def articles() -> JSONResponse:
        listed = [{"id": k, "title": v} for k, v in ARTICLES.items()]
        headers = {"X-Total-Count": str(len(listed))}
        if cache_control:
            headers["Cache-Control"] = cache_control
        return JSONResponse({"articles": listed}, headers=headers)

    @router.get("/articles/{article_id}")
    def article(article_id: str) -> JSONResponse:
        title = ARTICLES.get(int(article_id)) if article_id.isdigit() else None
        if title is None:
            return JSONResponse({"detail": "no such article"}, 404)
        return JSONResponse({"id": int(article_id), "title": title})

    built = FastAPI()
    built.include_router(router)
    if cors:
        built.add_middleware(
            CORSMiddleware,
            allow_origins=[FRONT_END],
            allow_credentials=True,
            expose_headers=["X-Total-Count"],
        )
    return built


app = port()
forgets_cors = port(cors=False)
adds_cache = port(cache_control="public, max-age=300")
