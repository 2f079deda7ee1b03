"""The request as Flask parsed it, where Flask and FastAPI disagree.

`legacy_request` gives a handler Werkzeug's own request object over the ASGI request, so the
parsing is Werkzeug's code, not an imitation of it:

- `args.get("limit", 20, type=int)` answers the default when the value does not convert (FastAPI
  answers 422 for `limit: int = 20`); `args.getlist(...)`, `form.getlist(...)` keep repeats;
- `headers.get(name)` holds repeated fields joined with "," as a WSGI server hands them to Flask
  (Starlette's `headers.get` gives the first field alone, so two `Authorization` fields would
  pass a check legacy failed);
- `get_json()` parses only `application/json` and `application/*+json`, answers 415 otherwise,
  400 with no detail for a bad body (Flask hides the decoder's message outside debug mode),
  None with `silent=True`, and parses any content type with `force=True`; JSON nested deeper than
  the parser allows raises RecursionError, a 500 as in Flask.

`query_arg(name, default, type)` is the one-parameter form, as a dependency that also documents
the parameter in the OpenAPI.
"""

from __future__ import annotations

import inspect
import io
from collections.abc import Callable, MutableMapping
from typing import Annotated, Any, NoReturn

from fastapi import Depends, Query
from starlette.requests import Request
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Request as WerkzeugRequest

_STATE_KEY = "strangler.compat.request"


class LegacyRequest(WerkzeugRequest):
    """Werkzeug's request with Flask's one change to it: a bad JSON body is a bare 400."""

    def on_json_loading_failed(self, e: ValueError | None) -> NoReturn:
        try:
            super().on_json_loading_failed(e)
        except BadRequest as exc:  # Flask shows the decoder's message only in debug mode.
            raise BadRequest() from exc
        raise AssertionError("unreachable: Werkzeug always raises here")  # pragma: no cover


def environ_of(scope: MutableMapping[str, Any], body: bytes) -> dict[str, Any]:
    """The WSGI environ a WSGI server would build for the ASGI HTTP `scope` and its `body`.

    Repeated header fields are joined with "," (RFC 9110 5.3; gunicorn and the gateway's bridge
    do so), repeated `Cookie` fields with "; "; names holding "_" are dropped, as gunicorn and
    Werkzeug's server drop them. Strings are "bytes as latin-1" (PEP 3333).
    """
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client") or ("", 0)
    root = scope.get("root_path", "")
    path: str = scope["path"]
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": root.encode().decode("latin-1"),
        "PATH_INFO": path[len(root) :].encode().decode("latin-1")
        if root and path.startswith(root)
        else path.encode().decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": server[0],
        "SERVER_PORT": str(server[1] or 80),
        "SERVER_PROTOCOL": "HTTP/" + scope.get("http_version", "1.1"),
        "REMOTE_ADDR": client[0],
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin-1").upper()
        if "_" in name:
            continue
        key = name.replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        value = raw_value.decode("latin-1")
        if key in environ:
            value = environ[key] + ("; " if key == "HTTP_COOKIE" else ",") + value
        environ[key] = value
    return environ


async def legacy_request(request: Request) -> LegacyRequest:
    """Werkzeug's request for this request, body read; made once per request (a dependency)."""
    made = request.scope.get(_STATE_KEY)
    if made is None:
        made = LegacyRequest(environ_of(request.scope, await request.body()))
        request.scope[_STATE_KEY] = made
    assert isinstance(made, LegacyRequest)
    return made


def args_of(request: Request) -> LegacyRequest:
    """Werkzeug's request without the body: enough for `args`, `headers` and `cookies`."""
    return LegacyRequest(environ_of(request.scope, b""))


def legacy_header(request: Request, name: str) -> str | None:
    """The header `name` as Flask's `request.headers.get(name)` saw it (repeats joined)."""
    values = request.headers.getlist(name)
    return ",".join(values) if values else None


def query_arg(
    name: str,
    default: Any = None,
    type: Callable[[str], Any] | None = None,
    *,
    description: str | None = None,
) -> Any:
    """A dependency answering `request.args.get(name, default, type=type)` as Flask did.

    The parameter is documented as an optional string query parameter; its value is parsed by
    Werkzeug, so a value `type` refuses (ValueError or TypeError) gives `default`, never a 422.
    """

    def dependency(request: Request, **_: Any) -> Any:
        args = args_of(request).args
        return args.get(name, default) if type is None else args.get(name, default, type=type)

    documented = inspect.Parameter(
        "raw",
        inspect.Parameter.KEYWORD_ONLY,
        default=Query(None, alias=name, description=description),
        annotation=str | None,
    )
    request_parameter = inspect.Parameter(
        "request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request
    )
    dependency.__signature__ = inspect.Signature([request_parameter, documented])  # type: ignore[attr-defined]
    return Depends(dependency)


Legacy = Annotated[LegacyRequest, Depends(legacy_request)]
