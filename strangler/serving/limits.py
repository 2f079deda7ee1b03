"""The limits a gateway server enforces, with defaults safe on a small machine.

Each is a setting of [tool.strangler] (or STRANGLER_<NAME>), read by `strangler serve`:

    max_header_bytes = 65536     request line and headers, in bytes: past it, 431
    max_headers = 100            header fields: past it, 431
    header_timeout = 10.0        seconds from a request's first byte (or a connection's opening)
                                 to its last header: past it, 408 and the connection is closed
    body_timeout = 30.0          seconds a request body may stall between two chunks: closed
    keep_alive_timeout = 5       seconds an idle keep-alive connection stays open
    max_connections = 4096       open connections per worker: past it, the one that has waited
                                 longest for its headers is dropped (a slow-header attack holds
                                 many), else the new one is
    max_body = 10485760          request body, in bytes: past it, 413 (`body_limits` per endpoint)
    legacy_queue = 64            legacy requests waiting for a thread: past it, 503 Retry-After
    migrated_concurrency = 256   migrated requests in flight: past it, 503 Retry-After

Why these figures: the worked example's largest request (/batch-predict, 100 rows) is under
20 KB, and no header of a real client comes near 64 KB (nginx's default is 8 KB per line).
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Limits:
    max_header_bytes: int = 64 * 1024
    max_headers: int = 100
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keep_alive_timeout: int = 5
    max_connections: int = 4096
    max_body: int = 10 * 1024 * 1024
    legacy_queue: int = 64
    migrated_concurrency: int = 256
