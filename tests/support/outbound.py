"""A real HTTP service on loopback that counts what reaches it: where an app's outbound calls go
in the sandbox's tests (a call recorded in a sandbox must never arrive here)."""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class Service:
    """The service's URL, and each POST that reached it: (path, body), in order."""

    url: str
    hits: list[tuple[str, bytes]] = field(default_factory=list)


@contextlib.contextmanager
def counting_service(status: int = 201) -> Iterator[Service]:
    """Runs the service until the block ends; every POST is answered `status`, empty."""
    service = Service("")

    class Counting(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            service.hits.append((self.path, body))
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Counting)
    service.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
