"""A legacy/migrated pair that handles secrets carelessly, for the redaction tests (#22): each
endpoint echoes what it was sent (headers, query, body) and hands out secrets of its own, and
the two apps differ a little, so that shadowing keeps the requests, the answers and the
differences. GET /match answers alike on both sides (a matched, recorded sample)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from flask import Flask, jsonify, request

# Secrets the apps make themselves (a test plants the others in its requests).
LEGACY_TOKEN = "app-made-legacy-access-token-L1"
MIGRATED_TOKEN = "app-made-migrated-access-token-M1"
SESSION_COOKIE = "app-made-session-cookie-C1"

legacy = Flask(__name__)


def _legacy_echo(**extra: Any) -> Any:
    answer = jsonify(
        echo=request.headers.get("X-Auth-Token", ""),
        query=request.query_string.decode(),
        access_token=LEGACY_TOKEN,
        **extra,
    )
    answer.headers["X-Echo-Key"] = request.headers.get("Api-Key", "")
    answer.set_cookie("sessionid", SESSION_COOKIE, httponly=True)
    return answer


@legacy.get("/profile")
def legacy_profile() -> Any:
    return _legacy_echo()


@legacy.get("/match")
def legacy_match() -> Any:
    return jsonify(ok=True)


@legacy.post("/account")
def legacy_account() -> Any:
    return _legacy_echo(got=request.get_json())


@legacy.post("/login")
def legacy_login() -> Any:
    text = f"welcome; you sent {request.get_data(as_text=True)}"
    return text, 200, {"Content-Type": "text/plain"}


@legacy.post("/note")
def legacy_note() -> Any:
    return jsonify(note=request.get_data(as_text=True))


migrated = FastAPI()


def _migrated_echo(request: Request, **extra: Any) -> Response:
    answer = JSONResponse(
        {
            "echo": "seen " + request.headers.get("X-Auth-Token", ""),
            "query": request.url.query,
            "access_token": MIGRATED_TOKEN,
            **extra,
        },
        headers={"X-Echo-Key": request.headers.get("Api-Key", "")},
    )
    answer.set_cookie("sessionid", SESSION_COOKIE, httponly=True)
    return answer


@migrated.get("/profile")
async def migrated_profile(request: Request) -> Response:
    return _migrated_echo(request)


@migrated.get("/match")
async def migrated_match() -> dict[str, Any]:
    return {"ok": True}


@migrated.post("/account")
async def migrated_account(request: Request) -> Response:
    return _migrated_echo(request, got=await request.json(), v=2)


@migrated.post("/login")
async def migrated_login(request: Request) -> Response:
    body = (await request.body()).decode()
    return PlainTextResponse(f"hello; you sent {body}")


@migrated.post("/note")
async def migrated_note(request: Request) -> dict[str, Any]:
    return {"note": (await request.body()).decode() + "!"}
