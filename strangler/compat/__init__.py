"""A toolkit for FastAPI ports of Flask apps: answer as legacy answered, from one import.

Each module is one idea, and each helper is proven against the real Flask (or extension)
behaviour by the differential tests in tests/compat (docs/compat.md shows each in use):

- `responses`: Flask's `jsonify` bytes.
- `pages`: Werkzeug's HTML error pages, rendered by Werkzeug itself, and Flask's `abort()`.
- `handlers`: `install_legacy_errors(app, ...)`: 404/405, raised HTTP errors and request
  validation errors answered in legacy's shape, or by the legacy app's own error handlers.
- `converters`: path parameters matched as Flask's `<int:...>` and `<float:...>` match.
- `routes`: the OPTIONS and HEAD routes Flask answers on its own.
- `requests`: the request as Flask parsed it: `args.get(..., type=int)`, joined repeated headers,
  `getlist`, `get_json()` with its content-type, `silent` and `force` rules.
- `session`: Flask's signed cookie session, read and written by Flask's own session interface.
- `login`: flask-login's `current_user`, `login_user` and `logout_user` on that session.
- `tokens`: flask-jwt-extended's tokens: the same claims, header scheme and `{"msg": ...}` errors.

The package imports only FastAPI, Starlette, Werkzeug, itsdangerous and the standard library
(PyJWT in `tokens`), never the gateway: a port keeps it after legacy is deleted. Where it needs
Flask's own code (the session serializer, an app's error handlers) it takes the Flask app as an
argument instead of importing Flask.
"""

from strangler.compat.converters import FloatPath, IntPath
from strangler.compat.handlers import install_legacy_errors
from strangler.compat.login import current_user, login_required, login_user, logout_user
from strangler.compat.pages import abort, error_page, http_error
from strangler.compat.requests import (
    Legacy,
    LegacyRequest,
    legacy_header,
    legacy_request,
    query_arg,
)
from strangler.compat.responses import Answered, FlaskJSONResponse, jsonify
from strangler.compat.routes import implicit_routes
from strangler.compat.session import LegacySessionMiddleware, Session, legacy_session
from strangler.compat.validation import json_template, webargs_json

__all__ = [
    "Answered",
    "FlaskJSONResponse",
    "FloatPath",
    "IntPath",
    "Legacy",
    "LegacyRequest",
    "LegacySessionMiddleware",
    "Session",
    "abort",
    "current_user",
    "error_page",
    "http_error",
    "implicit_routes",
    "install_legacy_errors",
    "json_template",
    "jsonify",
    "legacy_header",
    "legacy_request",
    "legacy_session",
    "login_required",
    "login_user",
    "logout_user",
    "query_arg",
    "webargs_json",
]
