"""A webhook receiver on 127.0.0.1 for tests: a real HTTP server in a thread that keeps what it
is sent, and can be slow (`delay` seconds an answer) or failing (`failing`: answers 503)."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Receiver:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.ids: list[str] = []
        self.delay = 0.0
        self.failing = False
        self.posts = 0  # every post, answered or refused
        self.lock = threading.Lock()
        self.port = 0


@contextmanager
def receiving(port: int = 0) -> Iterator[Receiver]:
    """A receiver listening on `port` (0: any free one) until the block ends."""
    receiver = Receiver()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with receiver.lock:
                receiver.posts += 1
                failing = receiver.failing
            if receiver.delay:
                stopping.wait(receiver.delay)
            if failing:
                self.send_response(503)
                self.end_headers()
                return
            with receiver.lock:
                receiver.bodies.append(json.loads(body))
                receiver.ids.append(self.headers.get("X-Strangler-Event", ""))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet in the test output

    stopping = threading.Event()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
