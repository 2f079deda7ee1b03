"""Werkzeug's HTML error pages and Flask's `abort()`, rendered by Werkzeug itself.

Flask answers every error it raises (an unknown URL, a wrong method, a bad JSON body, an
`abort(404)`) with the page of a `werkzeug.exceptions.HTTPException`. Rendering those exceptions
here, rather than copying their text, keeps the bytes equal for whichever Werkzeug is installed.

`abort` is Werkzeug's, which Flask's `abort` calls: `abort(404)`, `abort(403, "Not yours.")`, or
`abort(response)`; `install_legacy_errors` answers what it raises.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.responses import Response
from werkzeug.exceptions import HTTPException, MethodNotAllowed, abort, default_exceptions
from werkzeug.wrappers import Response as WerkzeugResponse

__all__ = ["abort", "error_page", "http_error", "werkzeug_response"]


def http_error(
    status: int, description: str | None = None, *, allow: Iterable[str] = ()
) -> HTTPException:
    """The Werkzeug exception Flask raises for `status` (`allow`: a 405's methods).

    Raises LookupError for a status Werkzeug has no exception for (e.g. 200 or 299).
    """
    if status == 405:
        return MethodNotAllowed(valid_methods=list(allow), description=description)
    try:
        kind = default_exceptions[status]
    except KeyError:
        raise LookupError(
            f"Werkzeug has no error page for status {status}: answer it with a Response instead"
        ) from None
    return kind(description=description)


def error_page(
    status: int, description: str | None = None, *, allow: Iterable[str] = ()
) -> Response:
    """Flask's answer to `abort(status, description)`: Werkzeug's HTML page for `status`."""
    return werkzeug_response(http_error(status, description, allow=allow).get_response())


def werkzeug_response(answer: WerkzeugResponse) -> Response:
    """A Starlette response with the status, headers (repeated ones kept) and bytes of `answer`."""
    body = answer.get_data()
    response = Response(body, status_code=answer.status_code)
    response.raw_headers = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in answer.headers.to_wsgi_list()
        if name.lower() != "content-length"
    ] + [(b"content-length", str(len(body)).encode())]
    return response
