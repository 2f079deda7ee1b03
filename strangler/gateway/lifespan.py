"""Runs an ASGI app's lifespan (startup, shutdown) on behalf of the gateway.

The server sends one lifespan to the gateway; the migrated app still needs its own (FastAPI
loads models there), so the gateway drives it through the plain ASGI protocol. An app that does
not speak lifespan (it raises on the scope) is treated as having none, as uvicorn's "auto" does.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from strangler.gateway.errors import LifespanError
from strangler.types import ASGIApp, Message

log = logging.getLogger("strangler.lifespan")


class Lifespan:
    def __init__(self, app: ASGIApp, state: dict[str, Any] | None) -> None:
        self._app = app
        self._state = state
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._outbox: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._supported = True

    async def _run(self) -> None:
        scope: dict[str, Any] = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
        }
        if self._state is not None:
            scope["state"] = self._state  # lifespan state reaches requests through the server
        try:
            await self._app(scope, self._inbox.get, self._outbox.put)
        except BaseException as exc:
            # Unsupported lifespan, or a crash: either way, no more messages will come.
            await self._outbox.put({"type": "lifespan.gone", "error": exc})

    async def _exchange(self, message_type: str) -> None:
        await self._inbox.put({"type": message_type})
        reply = await self._outbox.get()
        if reply["type"].endswith(".failed"):
            raise LifespanError(reply.get("message") or f"{message_type} failed")
        if reply["type"] == "lifespan.gone":
            if message_type == "lifespan.startup":
                log.debug("the migrated app has no lifespan: %r", reply["error"])
                self._supported = False
                return
            raise LifespanError(f"the app crashed during shutdown: {reply['error']!r}")

    async def startup(self) -> None:
        self._task = asyncio.create_task(self._run())
        await self._exchange("lifespan.startup")

    async def shutdown(self) -> None:
        if self._task is None:
            return
        if self._supported:
            await self._exchange("lifespan.shutdown")
        await self._task
