"""A port of two httpbin endpoints (a Flask app nobody here wrote) on strangler.compat: the
kit answers every error, through httpbin's own error path (its CORS after-request hook)."""

from __future__ import annotations

import random
import uuid
from typing import Any

import httpbin
from fastapi import FastAPI, Request, Response
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from strangler import compat
from strangler.compat.requests import args_of, legacy_header


class HttpbinCORS:
    """httpbin's `set_cors_headers` on every answer (its behaviour, not error handling)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = legacy_header(Request(scope), "origin") or "*"

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Access-Control-Allow-Origin"] = origin
                headers["Access-Control-Allow-Credentials"] = "true"
            await send(message)

        await self.app(scope, receive, sending)


def make_port() -> FastAPI:
    app = FastAPI(default_response_class=compat.FlaskJSONResponse, redirect_slashes=False)
    compat.install_legacy_errors(app, legacy=httpbin.app)
    app.add_middleware(HttpbinCORS)

    @app.get("/uuid")
    async def new_uuid() -> Any:
        return compat.jsonify({"uuid": str(uuid.uuid4())})

    @app.get("/bytes/{n}")
    def random_bytes(request: Request, n: compat.IntPath) -> Response:
        seed = {k.lower(): v for k, v in args_of(request).args.items()}.get("seed")
        if seed is not None:
            random.seed(int(seed))  # a bad seed fails as in httpbin: the kit answers its 500
        data = bytes(random.randint(0, 255) for _ in range(min(n, 100 * 1024)))
        return Response(data, media_type="application/octet-stream")

    return app
