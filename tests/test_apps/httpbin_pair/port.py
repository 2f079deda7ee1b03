"""The FastAPI port of one httpbin endpoint, /uuid; everything else stays on legacy."""

from __future__ import annotations

import uuid

from fastapi import FastAPI

app = FastAPI()


@app.get("/uuid")
def new_uuid() -> dict[str, str]:
    return {"uuid": str(uuid.uuid4())}
