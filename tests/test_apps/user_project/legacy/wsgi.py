"""The user's Flask service."""

from __future__ import annotations

from flask import Flask, jsonify, request
from migrated.notes import NOTES, reset

app = Flask(__name__)
reset()


@app.get("/notes/<int:note_id>")
def read(note_id: int):  # type: ignore[no-untyped-def]
    if note_id not in NOTES:
        return jsonify({"error": "no such note"}), 404
    return jsonify({"id": note_id, "text": NOTES[note_id]})


@app.post("/notes")
def create():  # type: ignore[no-untyped-def]
    text = (request.get_json(silent=True) or {}).get("text")
    if not isinstance(text, str):
        return jsonify({"error": "text is required"}), 400
    note_id = max(NOTES, default=0) + 1
    NOTES[note_id] = text
    return jsonify({"id": note_id, "text": text}), 201
