"""A tiny legacy/migrated pair for the gateway's own tests; each answer names its app and pid."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from flask import Flask, jsonify

legacy = Flask(__name__)


@legacy.get("/hello")
def legacy_hello() -> object:
    return jsonify(app="legacy", pid=os.getpid())


@legacy.post("/hello")
def legacy_hello_post() -> object:
    return jsonify(app="legacy", pid=os.getpid())


@legacy.get("/items/<int:item_id>")
def legacy_item(item_id: int) -> object:
    return jsonify(app="legacy", item=item_id)


@legacy.get("/legacy-only")
def legacy_only() -> object:
    return jsonify(app="legacy")


# Set by the lifespan: proves the gateway runs the migrated app's startup and shutdown.
lifespan_events: list[str] = []


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    lifespan_events.append("startup")
    yield
    lifespan_events.append("shutdown")


migrated = FastAPI(lifespan=lifespan)


@migrated.get("/hello")
async def migrated_hello() -> dict[str, object]:
    return {"app": "migrated", "pid": os.getpid()}


@migrated.get("/items/{item}")
async def migrated_item(item: int) -> dict[str, object]:
    return {"app": "migrated", "item": item}


@migrated.get("/migrated-only")
async def migrated_only() -> dict[str, object]:
    return {"app": "migrated"}


@migrated.get("/lifespan")
async def lifespan_state() -> dict[str, object]:
    return {"events": lifespan_events}
