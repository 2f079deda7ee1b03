"""The user's FastAPI port, at the path FastAPI's docs use: app/main.py."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from migrated.notes import NOTES

app = FastAPI()


@app.get("/notes/{note_id}")
async def read(note_id: int) -> Any:
    if note_id not in NOTES:
        return JSONResponse({"error": "no such note"}, status_code=404)
    return {"id": note_id, "text": NOTES[note_id]}


@app.post("/notes", status_code=201)
async def create(request: Request) -> Any:
    try:
        body = await request.json()
    except ValueError:
        body = None
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str):
        return JSONResponse({"error": "text is required"}, status_code=400)
    note_id = max(NOTES, default=0) + 1
    NOTES[note_id] = text
    return {"id": note_id, "text": text}
