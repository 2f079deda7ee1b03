"""A small legacy/migrated pair for what the request path adds to each request (request ids,
metrics, the request log): `/ok` on both, echoing the request id each app was given; `/boom`
raising on both; `/own-id` on migrated, setting its own request id."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, Response
from flask import Flask, jsonify, request

legacy = Flask(__name__)


@legacy.get("/ok")
def legacy_ok() -> Any:
    return jsonify(app="legacy", seen=request.headers.get("X-Request-ID"))


@legacy.get("/boom")
def legacy_boom() -> Any:
    raise RuntimeError("legacy broke")


migrated = FastAPI()


@migrated.get("/ok")
async def migrated_ok(request: Request) -> Any:
    return {"app": "migrated", "seen": request.headers.get("x-request-id")}


@migrated.get("/boom")
async def migrated_boom() -> Any:
    raise RuntimeError("migrated broke")


@migrated.get("/own-id")
async def own_id() -> Response:
    return Response("{}", headers={"X-Request-ID": "the-app-s-own"})
