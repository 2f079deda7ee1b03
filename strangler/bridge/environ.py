"""Builds a PEP 3333 environ from an ASGI HTTP scope: a pure function, no I/O.

Where the ASGI scope and WSGI disagree, we follow what gunicorn and werkzeug's server give a
Flask app, except where they are wrong (the `Cookie` join):

- `root_path` becomes SCRIPT_NAME and PATH_INFO is the rest of `path` (ASGI's `path` includes
  `root_path`), so `url_for` and redirects keep the mount prefix.
- Strings are "bytes as latin-1" (PEP 3333): paths are re-encoded from the server's UTF-8 decoding,
  the query string and header values are decoded as latin-1 (never ascii: clients do send raw
  UTF-8 in query strings).
- Several header fields of one name are joined with "," (RFC 9110 5.3), but several `Cookie`
  fields with "; " (RFC 9113 8.2.3; HTTP/2 clients split cookies this way), since "a=1,b=2" is
  one cookie `a` to a cookie parser.
- Header names with "_" are dropped, as gunicorn and werkzeug do: `X_User` must not be able to
  pose as `X-User` (both map to HTTP_X_USER).
- `wsgi.input_terminated` is set: the input ends at the end of the body, so a chunked upload
  (no Content-Length) is readable; without it werkzeug sees an empty body.
- `asgi.scope` is the original scope, for the legacy side to see what the gateway saw.
"""

from __future__ import annotations

import functools
import sys
from typing import Any

from strangler.types import Environ, Scope

_NO_PORT = ("localhost", 80)


def build_environ(scope: Scope, wsgi_input: object, *, errors: Any = None) -> Environ:
    """Returns the WSGI environ of the HTTP request `scope` whose body reads from `wsgi_input`."""
    root_path: str = scope.get("root_path", "").rstrip("/")
    path: str = scope["path"]
    if root_path and (path == root_path or path.startswith(root_path + "/")):
        path = path[len(root_path) :]
    query = scope.get("query_string", b"").decode("latin-1")
    server = scope.get("server") or _NO_PORT
    environ: Environ = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": _wsgi_str(root_path),
        "PATH_INFO": path if path.isascii() else _wsgi_str(path),  # ASCII: the same string
        "QUERY_STRING": query,
        "SERVER_NAME": server[0],
        "SERVER_PORT": str(server[1] if server[1] is not None else 80),
        "SERVER_PROTOCOL": "HTTP/" + scope.get("http_version", "1.1"),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": wsgi_input,
        "wsgi.errors": errors if errors is not None else sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,  # uvicorn may run several workers: assume so
        "wsgi.run_once": False,
        "wsgi.input_terminated": True,
        "asgi.scope": scope,
    }
    raw_path: bytes | None = scope.get("raw_path")
    if raw_path is not None:
        uri = raw_path.decode("latin-1") + ("?" + query if query else "")
        environ["REQUEST_URI"] = environ["RAW_URI"] = uri
    client = scope.get("client")
    if client:
        environ["REMOTE_ADDR"] = client[0]
        environ["REMOTE_PORT"] = str(client[1])
    for raw_name, raw_value in scope["headers"]:
        key = environ_key(raw_name)
        if key is None:
            continue
        value = raw_value.decode("latin-1")
        if key in environ:
            value = environ[key] + ("; " if key == "HTTP_COOKIE" else ",") + value
        environ[key] = value
    return environ


@functools.lru_cache(maxsize=512)
def environ_key(header_name: bytes) -> str | None:
    """Returns the environ key of a request header name, or None if it must be dropped."""
    name = header_name.decode("latin-1").lower()
    if name == "content-type":
        return "CONTENT_TYPE"
    if name == "content-length":
        return "CONTENT_LENGTH"
    if "_" in name:
        return None
    return "HTTP_" + name.upper().replace("-", "_")


def _wsgi_str(text: str) -> str:
    """`text` as PEP 3333 wants it: its UTF-8 bytes, read as latin-1."""
    return text.encode("utf-8", "surrogateescape").decode("latin-1")
