"""A legacy/migrated pair for shadow traffic: alike but for one item, with noise, side effects
and faults, and counts of what each app was asked."""

from __future__ import annotations

import asyncio
import collections
import time
from typing import Any

from fastapi import FastAPI, Request
from flask import Flask, jsonify, request

calls: collections.Counter[str] = collections.Counter()  # "legacy POST /orders" -> count
orders = {"legacy": 0, "migrated": 0}

legacy = Flask(__name__)


@legacy.get("/items/<int:item_id>")
def legacy_item(item_id: int) -> Any:
    calls["legacy GET /items"] += 1
    return jsonify(id=item_id, name=f"item {item_id}", generated_at=time.time())


@legacy.post("/echo")
def legacy_echo() -> Any:
    calls["legacy POST /echo"] += 1
    return jsonify(echo=request.get_json(), token="secret-from-legacy")


@legacy.post("/orders")
def legacy_order() -> Any:
    calls["legacy POST /orders"] += 1
    orders["legacy"] += 1
    return jsonify(order=orders["legacy"])


@legacy.get("/boom")
def legacy_boom() -> Any:
    return jsonify(ok=True)


@legacy.get("/hang")
def legacy_hang() -> Any:
    return jsonify(ok=True)


migrated = FastAPI()


@migrated.get("/items/{item_id}")
async def migrated_item(item_id: int) -> dict[str, Any]:
    calls["migrated GET /items"] += 1
    name = "item thirteen" if item_id == 13 else f"item {item_id}"  # the port's one slip
    return {"id": item_id, "name": name, "generated_at": time.time()}


@migrated.post("/echo")
async def migrated_echo(request: Request) -> dict[str, Any]:
    calls["migrated POST /echo"] += 1
    return {"echo": await request.json(), "token": "secret-from-migrated"}


@migrated.post("/orders")
async def migrated_order() -> dict[str, Any]:
    calls["migrated POST /orders"] += 1
    orders["migrated"] += 1
    return {"order": orders["migrated"]}


@migrated.get("/boom")
async def migrated_boom() -> dict[str, Any]:
    raise RuntimeError("the port fails here")


@migrated.get("/hang")
async def migrated_hang() -> dict[str, Any]:
    await asyncio.sleep(10)
    return {"ok": True}
