"""The request log, one JSON line per request, and request ids.

    {"ts":1795499301.123,"request_id":"9f86d081884c7d65-1a","method":"POST",
     "endpoint":"POST /predict","backend":"migrated","reason":"split","bucket":1234,
     "flags":12,"status":200,"ms":3.412}

Lines are not written through `logging`: at ~10 µs a record it would cost more than the rest of
the gateway's bookkeeping. They are gathered on the event loop and written in batches of whole
lines, at most PIPE_BUF bytes a write (so the lines of several workers sharing one pipe or file
never interleave mid-line), within FLUSH_AFTER seconds of the first.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time

from strangler.errors import ConfigError

FLUSH_AFTER = 0.2
BATCH = 3584  # bytes: a batch and the longest line stay under PIPE_BUF (4096)

# A request id as sent is kept when it is printable ASCII without quotes or backslashes, up to
# 200 characters (it is logged and passed on as it is); any other is replaced by a new one.
_VALID_ID = re.compile(rb"[!#-\[\]-~]{1,200}")


class RequestIds:
    """Request ids: the one the client sent if it is sound, else a new one, unique per
    process (a random prefix per process, then a counter: no syscall per request)."""

    def __init__(self) -> None:
        self._prefix = os.urandom(8).hex().encode() + b"-"
        self._count = 0

    def new(self) -> bytes:
        self._count += 1
        return self._prefix + b"%x" % self._count

    @staticmethod
    def valid(value: bytes) -> bool:
        return _VALID_ID.fullmatch(value) is not None


class RequestLog:
    """Writes request lines to stdout, stderr or a file (appended), in batches."""

    def __init__(self, target: str) -> None:
        self.target = target
        if target == "stdout":
            self._fd, self._owned = sys.stdout.fileno(), False
        elif target == "stderr":
            self._fd, self._owned = sys.stderr.fileno(), False
        else:
            try:
                self._fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            except OSError as exc:
                raise ConfigError(f"request_log: cannot open {target!r}: {exc}") from exc
            self._owned = True
        self._lines: list[str] = []
        self._size = 0
        self._pending: asyncio.TimerHandle | None = None
        self._quoted: dict[str | None, str] = {None: "null"}

    def write(
        self,
        request_id: bytes,
        method: str,
        endpoint: str | None,
        backend: str,
        reason: str,
        bucket: int | None,
        version: int,
        status: int,
        seconds: float,
    ) -> None:
        """Adds one request's line (on the event loop)."""
        quoted = self._quoted.get(endpoint)
        if quoted is None:  # endpoint keys come from the apps' routes: few, quoted once
            quoted = self._quoted[endpoint] = json.dumps(endpoint)
        line = (
            f'{{"ts":{time.time():.3f},"request_id":"{request_id.decode("ascii")}",'
            f'"method":"{method}","endpoint":{quoted},"backend":"{backend}","reason":"{reason}",'
            f'"bucket":{"null" if bucket is None else bucket},"flags":{version},'
            f'"status":{status},"ms":{seconds * 1000:.3f}}}\n'
        )
        if self._size + len(line) > BATCH:
            self.flush()
        self._lines.append(line)
        self._size += len(line)
        if self._pending is None:
            self._pending = asyncio.get_running_loop().call_later(FLUSH_AFTER, self.flush)

    def flush(self) -> None:
        """Writes the lines gathered so far, in one write (whole lines, under PIPE_BUF)."""
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        if not self._lines:
            return
        data = "".join(self._lines).encode()
        self._lines.clear()
        self._size = 0
        try:
            while data:
                data = data[os.write(self._fd, data) :]
        except OSError:  # a full disk or a closed pipe costs the log, never the request
            pass

    def close(self) -> None:
        self.flush()
        if self._owned:
            os.close(self._fd)
