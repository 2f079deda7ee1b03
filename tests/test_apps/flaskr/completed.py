"""flaskr's port as `strangler scaffold 'POST /{id}/delete'` drafted it, the handler then
written by hand: flaskr's login (a user id in Flask's signed session) is read through
strangler.compat's `Session`, its redirects and abort pages are Werkzeug's own."""

from __future__ import annotations

import sqlite3
from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response
from werkzeug.utils import redirect

from strangler.compat import (
    LegacySessionMiddleware,
    Session,
    error_page,
    implicit_routes,
    install_legacy_errors,
)
from strangler.compat.pages import werkzeug_response
from tests.test_apps.flaskr.legacy import app as legacy_app

app = FastAPI(title="Port of tests.test_apps.flaskr.legacy:app")
# Errors (router 404/405, abort(), validation) answered as legacy answers them; a router 404 or
# 405 runs flaskr's before_app_request hook first, as Flask does (it reads the session: Vary).
install_legacy_errors(app, legacy=legacy_app)
# Flask's signed cookie session: a login on either backend holds on the other.
app.add_middleware(LegacySessionMiddleware, legacy=legacy_app)


def database() -> sqlite3.Connection:
    connection = sqlite3.connect(legacy_app.config["DATABASE"])
    connection.row_factory = sqlite3.Row
    return connection


@app.post(
    "/{id:int}/delete",
    status_code=302,
    response_model=None,
    responses={
        302: {"description": "Redirect to / or /auth/login", "content": {"text/html": {}}},
        403: {"description": "403 Forbidden", "content": {"text/html": {}}},
        404: {"description": "404 Not Found", "content": {"text/html": {}}},
    },
)
def blog_delete_post(id: int, session: Session) -> Response:
    """Delete a post."""
    with database() as db:
        user_id = session.get("user_id")
        # flaskr's load_logged_in_user and login_required: no such user, the login page.
        user = db.execute("SELECT id FROM user WHERE id = ?", (user_id,)).fetchone()
        if user is None:
            return werkzeug_response(redirect("/auth/login"))
        post = db.execute("SELECT author_id FROM post WHERE id = ?", (id,)).fetchone()
        if post is None:
            return error_page(404, f"Post id {id} doesn't exist.")
        if post["author_id"] != user["id"]:
            return error_page(403)
        db.execute("DELETE FROM post WHERE id = ?", (id,))
    return werkzeug_response(redirect("/"))


# OPTIONS on every route and HEAD on every GET route, answered as Flask answers them (OPTIONS
# with flaskr's request hooks: its before_app_request reads the session, so Vary: Cookie).
app.router.routes.extend(implicit_routes(app.router.routes, legacy=legacy_app))


def legacy_openapi() -> dict[str, Any]:
    """The OpenAPI document, with only the answers legacy gives: no FastAPI 422."""
    if app.openapi_schema is None:
        schema = FastAPI.openapi(app)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                answers = operation.get("responses", {})
                if answers.get("422", {}).get("description") == "Validation Error":
                    del answers["422"]
    return app.openapi_schema or {}


app.openapi = legacy_openapi  # type: ignore[method-assign]
