"""A port of the accounts pair that raises on one input: `int("abc")` with no guard."""

from __future__ import annotations

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse

from tests.test_apps.accounts.accounts_port import login, logout, me

app = FastAPI()
app.post("/login")(login)
app.get("/me")(me)
app.post("/logout")(logout)


@app.get("/square")
async def square(n: str = "") -> Response:
    value = int(n)  # the bug: legacy answers 400 for a word; this raises ValueError
    return JSONResponse({"n": value, "square": value**2})
