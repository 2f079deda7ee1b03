"""A pair whose endpoints take their time: for load shedding, and for clients that leave."""

from __future__ import annotations

import asyncio
import threading
import time

from fastapi import FastAPI
from flask import Flask, jsonify, request

legacy = Flask(__name__)
_lock = threading.Lock()
started: list[str] = []  # the /work calls that ran, by their `id` query value


@legacy.post("/work")
def legacy_work() -> object:
    with _lock:
        started.append(request.args.get("id", ""))
    time.sleep(float(request.args.get("seconds", "1")))
    return jsonify(app="legacy")


@legacy.get("/started")
def legacy_started() -> object:
    with _lock:
        return jsonify(started=list(started))


@legacy.post("/upload")
def legacy_upload() -> object:
    return jsonify(size=len(request.get_data()))


migrated = FastAPI()


@migrated.post("/work")
async def migrated_work(seconds: float = 1.0) -> dict[str, str]:
    await asyncio.sleep(seconds)
    return {"app": "migrated"}


@migrated.post("/upload")
async def migrated_upload() -> dict[str, str]:
    return {"app": "migrated"}


@migrated.get("/running")
async def migrated_running() -> dict[str, list[str]]:
    """The /work calls legacy has begun, read on the loop: legacy's one thread may be busy, and
    legacy's own /started would wait for it. Only migrated has it, so it is served there."""
    with _lock:
        return {"started": list(started)}
