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
from functools import cached_property
from typing import IO, Annotated, Any, NoReturn, cast

from fastapi import Depends, Query
from starlette.requests import Request
from werkzeug.datastructures import EnvironHeaders
from werkzeug.exceptions import BadRequest
from werkzeug.http import parse_options_header
from werkzeug.utils import cached_property as werkzeug_cached_property
from werkzeug.wrappers import Request as WerkzeugRequest

_STATE_KEY = "strangler.compat.request"


# Parsed Content-Type values, shared by requests: a port sees a handful of distinct ones, and
# Werkzeug's parser (regular expressions) cost more than the rest of `get_json`. Bounded, since
# clients choose the values.
_CONTENT_TYPES: dict[str, tuple[str, dict[str, str]]] = {}
_CONTENT_TYPES_KEPT = 256


class LegacyRequest(WerkzeugRequest):
    """Werkzeug's request with Flask's one change to it: a bad JSON body is a bare 400.

    `LegacyRequest(environ)` is Werkzeug's constructor. `LegacyRequest.of(scope, body)` makes
    the same request from the ASGI scope without building the WSGI environ until something reads
    it (`environ`, `headers`, `cookies`...): `get_json()` reads only the Content-Type, which it
    takes from the scope, and the body. Also, answering the same as Werkzeug: the Content-Type
    is parsed once per distinct value, and the body (received whole, `wsgi.input_terminated`) is
    the stream itself when no `max_content_length` asks for a limit.
    """

    _scope: MutableMapping[str, Any] | None = None  # set by `of`: the environ is built on demand
    _input: IO[bytes] | None = None  # the body's stream, shared with the environ once built

    @classmethod
    def of(cls, scope: MutableMapping[str, Any], body: bytes) -> LegacyRequest:
        """The request `LegacyRequest(environ_of(scope, body))` makes, its environ not yet built.

        The attributes Werkzeug's constructor derives from the environ are taken from the scope
        as `environ_of` would give them and Werkzeug would decode them back.
        """
        request = cls.__new__(cls)
        root: str = scope.get("root_path", "")
        path: str = scope["path"]
        if root and path.startswith(root):
            path = path[len(root) :]
        server = scope.get("server") or ("localhost", 80)
        # Werkzeug's sansio constructor's assignments, `headers` left to the property below.
        request.method = scope["method"].upper()
        request.scheme = scope.get("scheme", "http")
        request.server = (server[0], server[1] or 80)
        request.root_path = root.rstrip("/")
        request.path = "/" + path.lstrip("/")
        request.query_string = scope.get("query_string", b"")
        request.remote_addr = (scope.get("client") or ("", 0))[0]
        request.shallow = False
        request._scope = scope
        request._input = io.BytesIO(body)
        return request

    @cached_property
    def environ(self) -> dict[str, Any]:  # type: ignore[override]
        """The WSGI environ of a request made by `of`, built on first use."""
        assert self._scope is not None  # `of` made this request
        assert self._input is not None
        environ = environ_of(self._scope, b"")
        environ["wsgi.input"] = self._input
        environ["werkzeug.request"] = self
        return environ

    @cached_property
    def headers(self) -> EnvironHeaders:  # type: ignore[override]
        """The headers of a request made by `of`, a view of its environ as Werkzeug's."""
        return EnvironHeaders(self.environ)

    def on_json_loading_failed(self, e: ValueError | None) -> NoReturn:
        try:
            super().on_json_loading_failed(e)
        except BadRequest as exc:  # Flask shows the decoder's message only in debug mode.
            raise BadRequest() from exc
        raise AssertionError("unreachable: Werkzeug always raises here")  # pragma: no cover

    def _parse_content_type(self) -> None:
        if not hasattr(self, "_parsed_content_type"):
            if self._scope is None:
                value = self.headers.get("Content-Type", "")
            else:  # the environ's CONTENT_TYPE, without building the environ
                value = _content_type_of(self._scope)
            parsed = _CONTENT_TYPES.get(value)
            if parsed is None:
                parsed = parse_options_header(value)
                if len(_CONTENT_TYPES) < _CONTENT_TYPES_KEPT:
                    _CONTENT_TYPES[value] = parsed
            # A copy of the parameters: `mimetype_params` is a dict its reader may change.
            self._parsed_content_type = (parsed[0], dict(parsed[1]))

    @werkzeug_cached_property  # Werkzeug's own: functools' takes a lock (Python 3.11)
    def stream(self) -> IO[bytes]:
        """The body's stream; Werkzeug's `get_input_stream` answers `wsgi.input` itself for a
        terminated input with no length limit, so this skips its Content-Length parsing."""
        if self.max_content_length is None and not self.shallow:
            if self._input is not None:
                return self._input
            if self.environ.get("wsgi.input_terminated"):
                return cast(IO[bytes], self.environ["wsgi.input"])
        return super().stream


def _content_type_of(scope: MutableMapping[str, Any]) -> str:
    """The environ's CONTENT_TYPE for `scope`: its Content-Type fields joined with ","."""
    values = [
        raw_value.decode("latin-1")
        for raw_name, raw_value in scope.get("headers", ())
        if raw_name.lower() == b"content-type"
    ]
    return ",".join(values)


# Header names as WSGI environ keys ("" for a name holding "_", which is dropped), so each
# request looks them up instead of rebuilding them. Bounded, since clients choose the names.
_KEYS: dict[bytes, str] = {}
_KEYS_KEPT = 1024


def _key_of(raw_name: bytes) -> str:
    name = raw_name.decode("latin-1").upper()
    if "_" in name:
        return ""
    key = name.replace("-", "_")
    return key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key


def _latin1(text: str) -> str:
    """`text` as PEP 3333's "bytes as latin-1" string of its UTF-8 bytes."""
    return text if text.isascii() else text.encode().decode("latin-1")


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
    if root and path.startswith(root):
        path = path[len(root) :]
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": _latin1(root),
        "PATH_INFO": _latin1(path),
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
    keys = _KEYS
    for raw_name, raw_value in scope.get("headers", ()):
        key = keys.get(raw_name)
        if key is None:
            key = _key_of(raw_name)
            if len(keys) < _KEYS_KEPT:
                keys[raw_name] = key
        if not key:
            continue
        value = raw_value.decode("latin-1")
        if key in environ:
            value = environ[key] + ("; " if key == "HTTP_COOKIE" else ",") + value
        environ[key] = value
    return environ


async def legacy_request(request: Request) -> LegacyRequest:
    """Werkzeug's request for this request, body read; made once per request (a dependency)."""
    made = request.scope.get(_STATE_KEY)
    if made is None:
        made = LegacyRequest.of(request.scope, await request.body())
        request.scope[_STATE_KEY] = made
    assert isinstance(made, LegacyRequest)
    return made


def args_of(request: Request) -> LegacyRequest:
    """Werkzeug's request without the body: enough for `args`, `headers` and `cookies`."""
    return LegacyRequest.of(request.scope, b"")


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

    # A coroutine: FastAPI would run a plain function in its thread pool, for a parse that
    # never waits.
    async def dependency(request: Request, **_: Any) -> Any:
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
