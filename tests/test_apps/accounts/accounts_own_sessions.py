"""A port of the accounts pair that keeps sessions its own way (Starlette's SessionMiddleware).

Each backend alone behaves exactly like legacy, so per-backend contract runs pass; a user who
logged in on legacy and is then routed to this port (a canary does exactly that) is logged out.
Only a mixed scenario sees it.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.middleware.sessions import SessionMiddleware

from tests.test_apps.accounts.accounts_legacy import SECRET, USERS
from tests.test_apps.accounts.accounts_port import see_other, square

app = FastAPI()
app.add_middleware(SessionMiddleware, secret_key=SECRET, session_cookie="session")


@app.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    user, password = str(form.get("user", "")), str(form.get("password", ""))
    if USERS.get(user) != password:
        return JSONResponse({"error": "wrong user or password"}, 401)
    request.session["user"] = user
    return see_other("/me")


@app.get("/me")
async def me(request: Request) -> Response:
    if "user" not in request.session:
        return JSONResponse({"error": "log in first"}, 401)
    return JSONResponse({"user": request.session["user"]})


@app.post("/logout")
async def logout(request: Request) -> Response:
    request.session.pop("user", None)
    return JSONResponse({"ok": True})


app.get("/square")(square)
