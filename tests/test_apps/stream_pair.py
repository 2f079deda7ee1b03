"""A pair whose endpoint streams for as long as asked: for stopping a server with streams open."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from flask import Flask, Response, request

legacy = Flask(__name__)


@legacy.get("/stream")
def legacy_stream() -> Response:
    """A line every 0.1 s for `seconds` (default 60)."""
    ticks = int(float(request.args.get("seconds", "60")) * 10)

    def lines() -> Iterator[str]:
        for i in range(ticks):
            yield f"tick {i}\n"
            time.sleep(0.1)

    return Response(lines(), mimetype="text/plain")


migrated = FastAPI()


@migrated.get("/stream")
async def migrated_stream(seconds: float = 60.0) -> StreamingResponse:
    async def lines() -> AsyncIterator[str]:
        for i in range(int(seconds * 10)):
            yield f"tick {i}\n"
            await asyncio.sleep(0.1)

    return StreamingResponse(lines(), media_type="text/plain")


@legacy.post("/spin")
def legacy_spin() -> Response:
    """Computes in Python (holding the GIL) for `ms` milliseconds (default 20), as a model does."""
    until = time.perf_counter() + float(request.args.get("ms", "20")) / 1000
    while time.perf_counter() < until:
        pass
    return Response("done\n", mimetype="text/plain")
