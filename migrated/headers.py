"""A request header as legacy saw it.

Legacy ran behind a WSGI server, which hands the app one value per header name: repeated fields
joined with "," (gunicorn, and the gateway's bridge, do so). Starlette's `headers.get` returns
the first field alone, so a request with two `Authorization` or `Content-Type` fields would be
accepted here where legacy refused it.
"""

from __future__ import annotations

from starlette.requests import Request


def legacy_header(request: Request, name: str) -> str | None:
    """The header `name` with repeated fields joined by ",", or None when absent."""
    values = request.headers.getlist(name)
    return ",".join(values) if values else None
