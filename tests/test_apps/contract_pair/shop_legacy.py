"""The pair's legacy Flask app: a tiny item store behind a login."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue

from tests.test_apps.contract_pair import shop_store as store

app = Flask(__name__)


@app.post("/login")
def login() -> ResponseReturnValue:
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not data.get("user"):
        return jsonify(error="user is required"), 400
    return jsonify(token=store.login())


@app.post("/items")
def create_item() -> ResponseReturnValue:
    if request.headers.get("X-Token") not in store.sessions:
        return jsonify(error="unauthorised"), 401
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or "name" not in data:
        return jsonify(error="name is required"), 400
    if not isinstance(data["name"], str) or not 1 <= len(data["name"]) <= 20:
        return jsonify(error="name must be 1 to 20 characters"), 400
    item_id = store.add_item(data["name"])
    created = datetime.now(UTC).isoformat()
    return jsonify(id=item_id, name=data["name"], created=created), 201


@app.get("/items/<item_id>")
def get_item(item_id: str) -> ResponseReturnValue:
    found = store.find(item_id)
    if found is None:
        return jsonify(error="not found"), 404
    return jsonify(id=found, name=store.items[found])


@app.get("/visits")
def visits() -> ResponseReturnValue:
    store.visits[0] += 1
    return jsonify(visits=store.visits[0])
