"""The worked example's FastAPI port with one slip: a /predict whose first feature is 7 answers
a prediction one too high. For the shadow tests: the one kind of request that differs."""

from __future__ import annotations

import json

from migrated.app import app as port
from strangler.shadow.exchange import replay
from strangler.types import Message, Receive, Scope, Send


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http" or scope["path"] != "/predict":
        await port(scope, receive, send)
        return
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body"):
            break
    body = b"".join(chunks)
    try:
        slip = json.loads(body)["features"][0] == 7
    except (ValueError, KeyError, IndexError, TypeError):
        slip = False

    held: list[Message] = []

    async def slipping(message: Message) -> None:
        if not slip:
            await send(message)
            return
        held.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            answer = json.loads(b"".join(m.get("body", b"") for m in held[1:]))
            answer["prediction"] += 1
            out = json.dumps(answer).encode()
            start = dict(held[0])
            start["headers"] = [
                (k, str(len(out)).encode() if k == b"content-length" else v)
                for k, v in start["headers"]
            ]
            await send(start)
            await send({"type": "http.response.body", "body": out})

    await port(scope, replay(body, receive), slipping)


app.routes = port.routes  # type: ignore[attr-defined]  # the gateway's inventory reads them
