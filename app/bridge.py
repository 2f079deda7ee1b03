"""The WSGI bridge: serves the legacy WSGI app as an ASGI app (placeholder on a2wsgi)."""

from __future__ import annotations

from a2wsgi import WSGIMiddleware

from app.types import ASGIApp, WSGIApp


def make_bridge(wsgi_app: WSGIApp, *, threads: int = 10) -> ASGIApp:
    """Returns an ASGI app that runs `wsgi_app` in a pool of `threads` worker threads."""
    bridge: ASGIApp = WSGIMiddleware(wsgi_app, workers=threads)
    return bridge
