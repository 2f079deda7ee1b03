"""A legacy/migrated pair for rollouts: the same answer on both, except that the port starts
failing one request in ten (500) once the file named by ROLLOUT_FAIL_FILE exists, as a bad
deploy would partway through a rollout. Each answer names its app; the request id it was given
is echoed in the body, so tests see what each app saw."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from flask import Flask, jsonify, request

legacy = Flask(__name__)


@legacy.get("/work")
def legacy_work() -> Any:
    return jsonify(app="legacy", request_id=request.headers.get("X-Request-ID"))


@legacy.post("/work")
def legacy_post_work() -> Any:
    return jsonify(app="legacy", request_id=request.headers.get("X-Request-ID"))


@legacy.get("/other")
def legacy_other() -> Any:
    return jsonify(app="legacy", pid=os.getpid())


@legacy.get("/legacy-only")
def legacy_only() -> Any:
    return jsonify(app="legacy")


migrated = FastAPI()


def failing() -> bool:
    path = os.environ.get("ROLLOUT_FAIL_FILE")
    return bool(path) and Path(str(path)).exists() and random.random() < 0.1


@migrated.get("/work")
async def migrated_work(request: Request) -> Any:
    if failing():
        return JSONResponse({"error": "the port broke"}, status_code=500)
    return {"app": "migrated", "request_id": request.headers.get("x-request-id")}


@migrated.post("/work")
async def migrated_post_work(request: Request) -> Any:
    if failing():
        return JSONResponse({"error": "the port broke"}, status_code=500)
    return {"app": "migrated", "request_id": request.headers.get("x-request-id")}


@migrated.get("/other")
async def migrated_other() -> Any:
    return {"app": "migrated", "pid": os.getpid()}
