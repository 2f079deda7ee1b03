"""The routes Flask answers on its own: OPTIONS on every route, HEAD on every GET route.

Flask answers `OPTIONS` on every route (200, an empty body, an `Allow` header) and `HEAD` on
every GET route; FastAPI does neither. `implicit_routes` builds them (out of the OpenAPI
document). Flask's `Allow` order follows its hash seed; ours is sorted, and our comparisons
read `Allow` as a set.

Flask makes its OPTIONS answer as it makes a view's: its before-request hooks first (one
reading the session gives `Vary: Cookie`; one aborting answers instead), its after-request hooks
and the session's save after (Flask-CORS's headers). Given the legacy app, `flask_options`
does the same, in process, on the port's session (see strangler.compat.session).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from strangler.compat.pages import werkzeug_response
from strangler.compat.session import legacy_context


def flask_allow(methods: Iterable[str]) -> list[str]:
    """The methods Flask allows on a path that declares `methods`: OPTIONS, HEAD with GET."""
    declared = set(methods)
    implicit = {"OPTIONS"} | ({"HEAD"} if "GET" in declared else set())
    return sorted(declared | implicit)


def options_answer(allow: Iterable[str]) -> Response:
    """Flask's automatic OPTIONS answer: 200, an empty HTML body, the `Allow` header."""
    return Response(status_code=200, headers={"Allow": ", ".join(allow)}, media_type="text/html")


async def flask_options(legacy: Any, request: Request, allow: Sequence[str]) -> Response:
    """Flask's automatic OPTIONS answer to `request`: made by the Flask app `legacy` with its
    request hooks, as Flask makes it (in a worker thread: the hooks may block); without it
    (None), `options_answer(allow)`."""
    if legacy is None:
        return options_answer(allow)
    return await run_in_threadpool(_legacy_options, legacy, request, allow)


def _legacy_options(legacy: Any, request: Request, allow: Sequence[str]) -> Response:
    with legacy_context(legacy, request.scope):
        try:  # Flask's full_dispatch_request, the view being make_default_options_response
            answered = legacy.preprocess_request()
            if answered is None:
                answered = legacy.response_class()
                answered.headers["Allow"] = ", ".join(allow)
        except Exception as raised:  # a hook's abort(), or an error the app has a handler for
            answered = legacy.handle_user_exception(raised)  # (one it has none for: raised)
        return werkzeug_response(legacy.finalize_request(answered))


def options_endpoint(
    allow: Sequence[str], legacy: Any = None
) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint answering `flask_options` (it takes only the request: the path's parameters
    are not read)."""

    async def options(request: Request) -> Response:
        return await flask_options(legacy, request, allow)

    return options


def _methods_by_path(routes: Sequence[BaseRoute]) -> dict[str, set[str]]:
    by_path: dict[str, set[str]] = {}
    for route in routes:
        if isinstance(route, APIRoute):
            by_path.setdefault(route.path, set()).update(route.methods or ())
    return by_path


def implicit_routes(routes: Sequence[BaseRoute], *, legacy: Any = None) -> list[APIRoute]:
    """The OPTIONS route of every path and the HEAD route of every GET route of `routes`.
    Given the Flask app `legacy`, OPTIONS runs its request hooks, as Flask does."""
    extra: list[APIRoute] = []
    for path, methods in _methods_by_path(routes).items():
        endpoint = options_endpoint(flask_allow(methods), legacy)
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
