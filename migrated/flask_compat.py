"""What Flask answered on its own, for every route: OPTIONS, HEAD, and its 404/405 pages.

Flask answers `OPTIONS` on every route (200, empty body, an `Allow` header), `HEAD` on every GET
route, and unknown paths or methods with werkzeug's HTML pages. FastAPI does none of these the
same way, so `implicit_routes` builds the missing routes (kept out of the OpenAPI document) and
`install_error_pages` renders the pages. Flask's `Allow` order varies with hash seeds; ours is
sorted.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI, Request, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute

from migrated.responses import FLASK_PAGES, flask_page


def _allow(methods: set[str]) -> str:
    implicit = {"OPTIONS"} | ({"HEAD"} if "GET" in methods else set())
    return ", ".join(sorted(methods | implicit))


def _methods_by_path(routes: Sequence[BaseRoute]) -> dict[str, set[str]]:
    by_path: dict[str, set[str]] = {}
    for route in routes:
        if isinstance(route, APIRoute):
            by_path.setdefault(route.path, set()).update(route.methods or ())
    return by_path


def implicit_routes(routes: Sequence[BaseRoute]) -> list[APIRoute]:
    """Returns the OPTIONS route of every path and the HEAD route of every GET route."""
    extra: list[APIRoute] = []
    for path, methods in _methods_by_path(routes).items():
        allow = _allow(methods)

        async def options(allow: str = allow) -> Response:  # Default binds this path's value.
            return Response(status_code=200, headers={"Allow": allow}, media_type="text/html")

        extra.append(APIRoute(path, options, methods=["OPTIONS"], include_in_schema=False))
    for route in routes:
        if isinstance(route, APIRoute) and "GET" in (route.methods or ()):
            # Starlette sends only the headers for HEAD, so the GET endpoint serves it, as in Flask.
            extra.append(
                APIRoute(
                    route.path,
                    route.endpoint,
                    methods=["HEAD"],
                    include_in_schema=False,
                    response_class=route.response_class,
                )
            )
    return extra


def install_error_pages(app: FastAPI) -> None:
    """Answers unknown paths (404) and methods (405, with `Allow`) with werkzeug's HTML pages."""

    async def http_exception(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        if status == 405:
            methods = _methods_by_path(app.routes).get(request.url.path, set())
            return flask_page(405, {"Allow": _allow(methods - {"HEAD", "OPTIONS"})})
        if status in FLASK_PAGES:
            return flask_page(status)
        return Response(status_code=status)

    app.add_exception_handler(HTTPException, http_exception)
