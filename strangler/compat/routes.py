"""The routes Flask answers on its own: OPTIONS on every route, HEAD on every GET route.

Flask answers `OPTIONS` on every route (200, an empty body, an `Allow` header) and `HEAD` on
every GET route; FastAPI does neither. `implicit_routes` builds them (out of the OpenAPI
document). Flask's `Allow` order follows its hash seed; ours is sorted, and our comparisons
read `Allow` as a set.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence

from fastapi.routing import APIRoute
from starlette.responses import Response
from starlette.routing import BaseRoute


def flask_allow(methods: Iterable[str]) -> list[str]:
    """The methods Flask allows on a path that declares `methods`: OPTIONS, HEAD with GET."""
    declared = set(methods)
    implicit = {"OPTIONS"} | ({"HEAD"} if "GET" in declared else set())
    return sorted(declared | implicit)


def options_answer(allow: Iterable[str]) -> Response:
    """Flask's automatic OPTIONS answer: 200, an empty HTML body, the `Allow` header."""
    return Response(status_code=200, headers={"Allow": ", ".join(allow)}, media_type="text/html")


def options_endpoint(allow: Sequence[str]) -> Callable[[], Awaitable[Response]]:
    """An endpoint answering `options_answer(allow)` (it takes no parameter FastAPI could read)."""

    async def options() -> Response:
        return options_answer(allow)

    return options


def _methods_by_path(routes: Sequence[BaseRoute]) -> dict[str, set[str]]:
    by_path: dict[str, set[str]] = {}
    for route in routes:
        if isinstance(route, APIRoute):
            by_path.setdefault(route.path, set()).update(route.methods or ())
    return by_path


def implicit_routes(routes: Sequence[BaseRoute]) -> list[APIRoute]:
    """The OPTIONS route of every path and the HEAD route of every GET route of `routes`."""
    extra: list[APIRoute] = []
    for path, methods in _methods_by_path(routes).items():
        endpoint = options_endpoint(flask_allow(methods))
        extra.append(APIRoute(path, endpoint, methods=["OPTIONS"], include_in_schema=False))
    for route in routes:
        if isinstance(route, APIRoute) and "GET" in (route.methods or ()):
            # Starlette sends only the headers for HEAD, so the GET endpoint serves it, as Flask.
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
