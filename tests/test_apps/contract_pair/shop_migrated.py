"""The pair's FastAPI port: the same contract, plus one new header (declared in the ledger)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from werkzeug.exceptions import InternalServerError, NotFound

from tests.test_apps.contract_pair import shop_store as store

app = FastAPI(redirect_slashes=False)  # Flask answers /items/ with 404, not a redirect


def answer(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status, headers={"X-Api-Version": "2"})


async def json_body(request: Request) -> Any:
    """The JSON body as Flask's `get_json(silent=True)` reads it: None unless JSON and valid."""
    mimetype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    is_json = mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )
    if not is_json:
        return None
    try:
        return json.loads(await request.body())
    except ValueError:
        return None


@app.exception_handler(RecursionError)
async def too_deep(request: Request, exc: Exception) -> Response:
    """JSON nested too deep escapes Flask's `get_json(silent=True)`: Flask's own 500 page."""
    page = InternalServerError()
    return Response(page.get_body(), 500, media_type="text/html; charset=utf-8")


@app.exception_handler(404)
async def not_found(request: Request, exc: Exception) -> Response:
    """Flask's own 404 page, for paths no route matches."""
    page = NotFound()
    return Response(page.get_body(), 404, media_type="text/html; charset=utf-8")


@app.post("/login")
async def login(request: Request) -> JSONResponse:
    data = await json_body(request)
    if not isinstance(data, dict) or not data.get("user"):
        return answer({"error": "user is required"}, 400)
    return answer({"token": store.login()})


@app.post("/items")
async def create_item(request: Request) -> JSONResponse:
    # As a WSGI server hands it to Flask: repeated fields joined (the fuzzer sends two).
    if ",".join(request.headers.getlist("X-Token")) not in store.sessions:
        return answer({"error": "unauthorised"}, 401)
    data = await json_body(request)
    if not isinstance(data, dict) or "name" not in data:
        return answer({"error": "name is required"}, 400)
    if not isinstance(data["name"], str) or not 1 <= len(data["name"]) <= 20:
        return answer({"error": "name must be 1 to 20 characters"}, 400)
    item_id = store.add_item(data["name"])
    created = datetime.now(UTC).isoformat()
    return answer({"id": item_id, "name": data["name"], "created": created}, 201)


@app.get("/items/{item_id}")
async def get_item(item_id: str) -> JSONResponse:
    found = store.find(item_id)
    if found is None:
        return answer({"error": "not found"}, 404)
    return answer({"id": found, "name": store.items[found]})


@app.get("/visits")
async def visits() -> JSONResponse:
    store.visits[0] += 1
    return answer({"visits": store.visits[0]})
