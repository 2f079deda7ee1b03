"""Bytecodes per request of the whole server stack, in process: uvicorn's protocol, the gateway
and the worked example's migrated app, against uvicorn and the app alone.

Run as `.venv/bin/python scripts/bench_stack.py [PATH] [--browser]` (default /health; with
`--browser`, the request carries the dozen header fields a browser sends, not only Host). A
protocol object is fed a kept-alive GET through a fake transport on uvloop, as uvicorn's own
tests do, and every Python bytecode run on the loop is counted (tests/support/bytecodes.py): the
figure does not move with the machine's load, unlike the CPU time of `scripts/bench`, and on a
real server the CPU time of a cheap endpoint follows it closely. Rows: uvicorn alone; with the
guarded protocol (strangler/serving/protocol.py); the gateway with its defaults; the gateway
with metrics, request id and backend header off. The app's lifespan is not run (its model loads
lazily).
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import uvloop
from uvicorn.config import Config
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("ML_BATCH_MAX_WAIT_MS", "0")

from strangler.assembly import create_gateway  # noqa: E402
from strangler.flags.memory import MemoryFlagStore  # noqa: E402
from strangler.flags.model import Flag  # noqa: E402
from strangler.serving.protocol import GuardedProtocol  # noqa: E402
from strangler.settings import import_string  # noqa: E402
from strangler.types import ASGIApp  # noqa: E402
from tests.support.bytecodes import bytecodes_per_call  # noqa: E402


class Transport:
    """The server's end of a socket: counts the writes, never closes by itself."""

    def __init__(self) -> None:
        self.writes = 0
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(
            name, default
        )

    def write(self, data: bytes) -> None:
        self.writes += 1

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


# The header fields a browser sends with a GET (Chromium's, a session cookie included).
BROWSER = (
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36\r\n"
    b"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    b"Accept-Language: en-GB,en;q=0.9\r\n"
    b"Accept-Encoding: gzip, deflate, br, zstd\r\n"
    b"Connection: keep-alive\r\n"
    b"Cookie: session=eyJ1c2VyIjoiYW5uIn0.Z1x2Yw.c2lnbmF0dXJl; theme=dark\r\n"
    b"Referer: http://127.0.0.1:8000/\r\n"
    b"Sec-Fetch-Dest: document\r\n"
    b"Sec-Fetch-Mode: navigate\r\n"
    b"Sec-Fetch-Site: same-origin\r\n"
    b"Upgrade-Insecure-Requests: 1\r\n"
)


async def per_request(
    protocol_class: type[HttpToolsProtocol], app: ASGIApp, path: str, extra: bytes = b""
) -> float:
    """Bytecodes run on the loop per kept-alive GET of `path`, all code counted."""
    loop = asyncio.get_running_loop()
    config = Config(app=app, interface="asgi3", lifespan="off", log_config=None, access_log=False)
    config.load()
    state = ServerState()
    protocol = protocol_class(config=config, server_state=state, app_state={}, _loop=loop)
    transport = Transport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    raw = b"GET %s HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n%s\r\n" % (path.encode(), extra)

    async def request() -> None:
        writes = transport.writes
        protocol.data_received(raw)
        # Yields to the request's task until it has answered and ended (no event to wait on).
        while transport.writes == writes or state.tasks:  # noqa: ASYNC110
            await asyncio.sleep(0)

    for _ in range(50):  # caches, the model, first-call paths
        await request()
    count, _ = await bytecodes_per_call(request, times=100, under="/")
    return count


def main() -> None:
    args = [arg for arg in sys.argv[1:] if arg != "--browser"]
    path = args[0] if args else "/health"
    extra = BROWSER if "--browser" in sys.argv else b""
    # By name, as `strangler serve` loads them (nothing outside legacy/ imports it).
    legacy = import_string("legacy.app:app", str(REPO))
    migrated = import_string("migrated.app:app", str(REPO))

    def gateway(**settings: Any) -> ASGIApp:
        store = MemoryFlagStore()
        built = create_gateway(legacy, migrated, store, **settings)
        store.set(f"GET {path}", Flag.build("migrated"), actor="bench", reason="bench")
        built.watcher.refresh()
        built._watching = True  # no threads: only the request path runs
        return built

    rows: list[tuple[str, type[HttpToolsProtocol], ASGIApp]] = [
        ("uvicorn alone", HttpToolsProtocol, migrated),
        ("uvicorn, guarded protocol", GuardedProtocol, migrated),
        ("gateway, defaults", GuardedProtocol, gateway()),
        (
            "gateway, all off",
            GuardedProtocol,
            gateway(metrics=False, request_id_header=None, backend_header=None),
        ),
    ]
    figures = {
        name: uvloop.run(per_request(protocol, ProxyHeadersMiddleware(app), path, extra))
        for name, protocol, app in rows
    }
    alone = figures["uvicorn alone"]
    fields = "a browser's 12 header fields" if extra else "one header field"
    print(f"GET {path} ({fields}): bytecodes per request on the loop")
    for name, count in figures.items():
        print(f"  {name:<28}{count:>7.0f}{count / alone:>8.3f}x")


if __name__ == "__main__":
    main()
