"""The accounts pair's faithful FastAPI port: it reads and writes Flask's own session cookie, so a
user logged in on either backend stays logged in on the other."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature
from werkzeug.utils import redirect

from tests.test_apps.accounts.accounts_legacy import SECRET, USERS

app = FastAPI()
# Flask's own serializer for its session cookie, keyed by the legacy app's secret.
_keyed = Flask("accounts-port-signer")
_keyed.secret_key = SECRET
_signer = SecureCookieSessionInterface().get_signing_serializer(_keyed)
assert _signer is not None
_COOKIE = "session"


def see_other(location: str) -> Response:
    """A 303 with werkzeug's own little HTML page, as Flask's `redirect()` answers."""
    page = redirect(location, 303)
    return Response(page.get_data(), 303, {"Location": location}, media_type=page.content_type)


def read_session(request: Request) -> dict[str, Any]:
    try:
        data = _signer.loads(request.cookies.get(_COOKIE, ""))
    except BadSignature:
        return {}
    return data if isinstance(data, dict) else {}


def write_session(response: Response, data: dict[str, Any]) -> Response:
    """Sets or deletes the cookie with Flask's attributes (Starlette's defaults add SameSite,
    and its deletion drops HttpOnly)."""
    if data:
        value, max_age, expires = _signer.dumps(data), None, None
    else:
        value, max_age, expires = "", 0, 0
    response.set_cookie(_COOKIE, value, max_age, expires, path="/", httponly=True, samesite=None)
    return response


@app.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    user, password = str(form.get("user", "")), str(form.get("password", ""))
    if USERS.get(user) != password:
        return JSONResponse({"error": "wrong user or password"}, 401)
    return write_session(see_other("/me"), {**read_session(request), "user": user})


@app.get("/me")
async def me(request: Request) -> Response:
    user = read_session(request).get("user")
    if user is None:
        return JSONResponse({"error": "log in first"}, 401)
    return JSONResponse({"user": user})


@app.post("/logout")
async def logout(request: Request) -> Response:
    data = read_session(request)
    data.pop("user", None)
    return write_session(JSONResponse({"ok": True}), data)


@app.get("/square")
async def square(n: str = "") -> Response:
    if not n.lstrip("-").isdigit():
        return JSONResponse({"error": "n must be a whole number"}, 400)
    return JSONResponse({"n": int(n), "square": int(n) ** 2})
