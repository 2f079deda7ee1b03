"""The endpoint inventory of both apps, and the matcher from a request to its endpoint.

Endpoints come from the apps themselves: Flask's url_map and the ASGI app's routes (following
FastAPI's routers and Starlette's mounts). Their templates are read by `templates`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from strangler.routing.templates import (
    normalise_template,
    parse_route_key,
    route_key,
    template_regex,
    template_shape,
)
from strangler.types import Backend

# The template of the legacy rule that would serve (method, path), or None.
LegacyRouter = Callable[[str, str], str | None]
# Methods Flask answers by itself for every route; they are not endpoints of their own.
IMPLICIT_METHODS = frozenset({"HEAD", "OPTIONS"})


@dataclasses.dataclass(frozen=True, slots=True)
class Endpoint:
    """One method + template, and which apps serve it."""

    method: str
    template: str
    backends: frozenset[Backend]
    # Computed once: the dispatcher reads it on every request.
    key: str = dataclasses.field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", route_key(self.method, self.template))

    @property
    def served_by(self) -> str:
        """`legacy`, `migrated` or `both`: what the inventory shows operators."""
        return "both" if len(self.backends) == 2 else next(iter(self.backends)).value


class Inventory:
    """The endpoints of both apps, and the matcher from a request to its endpoint.

    Matching is a dict lookup for templates without parameters (most endpoints), then a scan of
    the parameterised ones in the order the apps declared them.
    """

    def __init__(
        self,
        endpoints: Iterable[Endpoint],
        *,
        legacy_router: LegacyRouter | None = None,
        merge_slashes: bool = False,
    ) -> None:
        # How the legacy app itself matches a path the inventory does not know as spelled:
        # werkzeug serves `//predict` as `/predict`, so that spelling must route by the flag of
        # `POST /predict`, or it would reach legacy whatever the flag says.
        self.legacy_router = legacy_router
        self.merge_slashes = merge_slashes  # and hands the app the merged path
        self.endpoints: dict[str, Endpoint] = {}
        self._by_shape: dict[tuple[str, str], Endpoint] = {}
        for endpoint in endpoints:
            self._add(endpoint)
        self._claim_shadowed_paths()
        self._static: dict[tuple[str, str], Endpoint] = {}
        dynamic: dict[str, list[Endpoint]] = {}
        for endpoint in self.endpoints.values():
            if "{" in endpoint.template:
                dynamic.setdefault(endpoint.method, []).append(endpoint)
            else:
                self._static[(endpoint.method, endpoint.template)] = endpoint
        # Per method, one regex of every parameterised template, in the order the apps declared
        # them: `(t1)|(t2)|...`. The regex engine tries the alternatives in that order, as a loop
        # over the templates would, but in C: the group that matched names the endpoint.
        self._dynamic: dict[str, tuple[re.Pattern[str], list[Endpoint]]] = {
            method: (
                re.compile("|".join(f"({template_regex(e.template).pattern})" for e in endpoints)),
                endpoints,
            )
            for method, endpoints in dynamic.items()
        }

    def _claim_shadowed_paths(self) -> None:
        """Marks a migrated-only fixed path that a legacy parameterised rule also serves as
        served by both: legacy's `/users/<id>` answers `/users/me` today, so the port's new
        `/users/me` must not take that traffic until its flag says so."""
        legacy_rules = [
            (e.method, template_regex(e.template))
            for e in self.endpoints.values()
            if "{" in e.template and Backend.LEGACY in e.backends
        ]
        for key, endpoint in list(self.endpoints.items()):
            if endpoint.backends != {Backend.MIGRATED} or "{" in endpoint.template:
                continue
            if any(m == endpoint.method and r.match(endpoint.template) for m, r in legacy_rules):
                both = dataclasses.replace(endpoint, backends=frozenset(Backend))
                self.endpoints[key] = both
                self._by_shape[(endpoint.method, template_shape(endpoint.template))] = both

    def _add(self, endpoint: Endpoint) -> None:
        shape = (endpoint.method, template_shape(endpoint.template))
        known = self._by_shape.get(shape)
        if known is not None:
            endpoint = dataclasses.replace(known, backends=known.backends | endpoint.backends)
        self._by_shape[shape] = endpoint
        self.endpoints[endpoint.key] = endpoint

    def __iter__(self) -> Iterator[Endpoint]:
        return iter(sorted(self.endpoints.values(), key=lambda e: (e.template, e.method)))

    def __len__(self) -> int:
        return len(self.endpoints)

    def get(self, key: str) -> Endpoint | None:
        """The endpoint for a route key, written in either template syntax."""
        method, template = parse_route_key(key)
        return self._by_shape.get((method, template_shape(template)))

    def match(self, method: str, path: str) -> Endpoint | None:
        """The endpoint a request reaches, or None when no app declares one for it.

        HEAD and OPTIONS match where an app declares them. Otherwise they follow the path's GET
        endpoint only when legacy does not serve it (migrated answers for its own paths); where
        legacy serves it they fall through to legacy, which answers them for every route
        (FastAPI would answer 405). A path that matches nothing as sent is given to the legacy
        app's own router: the endpoint of the rule it would serve the path by, if any.
        """
        endpoint = self._match_method(method, path)
        if endpoint is None and self.legacy_router is not None:
            template = self.legacy_router(method, path)
            if template is not None:
                endpoint = self._by_shape.get((method, template_shape(template)))
        return endpoint

    def _match_method(self, method: str, path: str) -> Endpoint | None:
        endpoint = self._match(method, path)
        if endpoint is None and method in IMPLICIT_METHODS:
            owner = self._match("GET", path)
            if owner is not None and Backend.LEGACY not in owner.backends:
                return owner
        return endpoint

    def _match(self, method: str, path: str) -> Endpoint | None:
        endpoint = self._static.get((method, path))
        if endpoint is not None:
            return endpoint
        dynamic = self._dynamic.get(method)
        if dynamic is not None:
            found = dynamic[0].match(path)
            if found is not None:
                return dynamic[1][found.lastindex - 1]  # type: ignore[operator]
        return None


def flask_endpoints(wsgi_app: Any) -> Iterator[Endpoint]:
    """The endpoints a Flask app declares in its url_map (none for other WSGI apps).

    WSGI middleware in front of the Flask app (werkzeug's ProxyFix, say) is looked through: such
    wrappers keep the app they wrap as `.app`.
    """
    url_map = getattr(unwrapped(wsgi_app), "url_map", None)
    if url_map is None:
        return
    legacy = frozenset({Backend.LEGACY})
    for rule in url_map.iter_rules():
        template = normalise_template(rule.rule)
        for method in sorted(rule.methods or ()):
            if method not in IMPLICIT_METHODS:
                yield Endpoint(method, template, legacy)


def unwrapped(wsgi_app: Any) -> Any:
    """The Flask app behind a chain of WSGI middleware that keep it as `.app`."""
    for _ in range(8):  # a chain of wrappers, not a cycle
        if hasattr(wsgi_app, "url_map") or not hasattr(wsgi_app, "app"):
            break
        wsgi_app = wsgi_app.app
    return wsgi_app


def _declared_routes(app: Any) -> Iterator[Any]:
    """An app's routes, with FastAPI's included routers (kept unflattened since 0.16x) resolved."""
    routes = getattr(app, "routes", None) or ()
    try:
        from fastapi.routing import iter_route_contexts  # FastAPI >= 0.160
    except ImportError:
        yield from routes
    else:
        yield from iter_route_contexts(routes)


def asgi_endpoints(asgi_app: Any, prefix: str = "") -> Iterator[Endpoint]:
    """The HTTP endpoints a Starlette/FastAPI app declares, following mounts and routers."""
    migrated = frozenset({Backend.MIGRATED})
    for route in _declared_routes(asgi_app):
        path = getattr(route, "path", "")
        methods = getattr(route, "methods", None)
        if methods:
            template = normalise_template(prefix + path)
            for method in sorted(methods):
                if method not in IMPLICIT_METHODS:
                    yield Endpoint(method, template, migrated)
        elif hasattr(route, "routes"):  # a Mount or a nested router
            yield from asgi_endpoints(route, prefix + path)


def discover(legacy: Any, migrated: Any) -> Inventory:
    """Builds the inventory from the apps themselves: Flask's url_map and the ASGI app's routes."""
    url_map = getattr(unwrapped(legacy), "url_map", None)
    return Inventory(
        [*flask_endpoints(legacy), *asgi_endpoints(migrated)],
        legacy_router=werkzeug_router(url_map) if url_map is not None else None,
        merge_slashes=bool(getattr(url_map, "merge_slashes", False)),
    )


def werkzeug_router(url_map: Any) -> LegacyRouter:
    """Asks a werkzeug Map which rule serves a path: the rule's template, or None where it
    answers 404, 405 or a redirect (the client then asks again, by the canonical path)."""
    from werkzeug.exceptions import HTTPException  # RequestRedirect is one too

    adapter = url_map.bind("localhost")
    # The first path segment of every rule: a path whose first segment is none of them cannot
    # match any rule, and is answered without asking werkzeug (whose NotFound costs ~15 us).
    # A rule that starts with a converter (`/<path:p>`) can match anything: then always ask.
    firsts = {_first_segment(rule.rule) for rule in url_map.iter_rules()}
    anything = any("<" in first for first in firsts)

    def route(method: str, path: str) -> str | None:
        if not anything and _first_segment(path) not in firsts:
            return None
        try:
            rule, _ = adapter.match(path, method, return_rule=True)
        except HTTPException:
            return None
        except Exception:  # an odd rule or converter: the request goes to legacy as before
            return None
        return str(rule.rule)

    return route


def _first_segment(path: str) -> str:
    """`/predict/x` -> `predict`; werkzeug merges repeated slashes, so `//predict` too."""
    return path.lstrip("/").partition("/")[0]


def merged_slashes(path: str) -> str:
    """`path` with each run of slashes made one, as werkzeug matches it (`//predict`)."""
    return _SLASHES.sub("/", path)


_SLASHES = re.compile("/{2,}")
