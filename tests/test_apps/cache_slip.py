"""The worked example's FastAPI port with the slip issue #23 found: on a cache miss, one input
in five takes a wrong model path (its prediction one too high), and the wrong value is cached,
as a real inference bug would be. Served by it, every later request for that input, on either
backend, reads the wrong value from the shared cache."""

from __future__ import annotations

import json
import zlib

from migrated.app import app as port
from migrated.domain import prediction_cache
from strangler.shadow.exchange import replay
from strangler.types import Message, Receive, Scope, Send


def slips(features: object) -> bool:
    """One input in five, the same ones every run."""
    return zlib.crc32(prediction_cache.key(features).encode()) % 5 == 0


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
        features = json.loads(body)["features"]
        key = prediction_cache.key(features)
        slip = slips(features) and prediction_cache.get(key) is None  # a miss, on a bad path
    except (ValueError, KeyError, TypeError):
        slip = False

    held: list[Message] = []

    async def slipping(message: Message) -> None:
        if not slip:
            await send(message)
            return
        held.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            answer = json.loads(b"".join(m.get("body", b"") for m in held[1:]))
            if "prediction" in answer:
                answer["prediction"] += 1
                if prediction_cache.get(key) is not None:  # the port cached it: the wrong one
                    prediction_cache.set(key, answer["prediction"])
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
