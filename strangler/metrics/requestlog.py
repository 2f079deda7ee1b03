"""The request log, one JSON line per request (the ids are strangler.gateway.requestid's).

    {"ts":1795499301.123,"request_id":"9f86d081884c7d65-1a","method":"POST",
     "endpoint":"POST /predict","backend":"migrated","reason":"split","bucket":1234,
     "flags":12,"status":200,"ms":3.412}

Lines are not written through `logging`: at ~10 µs a record it would cost more than the rest of
the gateway's bookkeeping. They are gathered on the event loop and written in batches of whole
lines, at most PIPE_BUF bytes a write (so the lines of several workers sharing one pipe or file
never interleave mid-line), within FLUSH_AFTER seconds of the first.

A line is in the log whole or not at all. A disk that fills up (or a file-size limit) takes part
of a write and refuses the rest: the file is then cut back to the write's last whole line, and
the lines left out are dropped, counted (`dropped`, and the `on_drop` hook: the metrics count
them) and reported once until the log is written again. Nothing of it reaches the request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import stat
import sys
import time
from collections.abc import Callable

from strangler.errors import ConfigError
from strangler.routing.decision import Decision, Reason
from strangler.types import Backend

log = logging.getLogger("strangler.requests")

FLUSH_AFTER = 0.2
BATCH = 3584  # bytes: a batch and the longest line stay under PIPE_BUF (4096)


class RequestLog:
    """Writes request lines to stdout, stderr or a file (appended), in batches."""

    def __init__(self, target: str, on_drop: Callable[[int], None] | None = None) -> None:
        self.target = target
        self.on_drop = on_drop  # told how many lines each failed write dropped
        if target == "stdout":
            self._fd, self._owned = sys.stdout.fileno(), False
        elif target == "stderr":
            self._fd, self._owned = sys.stderr.fileno(), False
        else:
            try:
                os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
                self._fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            except OSError as exc:
                raise ConfigError(f"request_log: cannot open {target!r}: {exc}") from exc
            self._owned = True
        try:
            self._file = stat.S_ISREG(os.fstat(self._fd).st_mode)
        except OSError:  # stdout closed: every write fails, and is counted
            self._file = False
        self._lines: list[str] = []
        self._size = 0
        self._pending: asyncio.TimerHandle | None = None
        # The part of a line that is the same for every request of an endpoint, backend and
        # reason: built (and its endpoint JSON-quoted) once.
        self._middles: dict[tuple[str, str | None, str, str], str] = {}
        self.failed = False  # the last write failed (logged once until one succeeds)
        self.dropped = 0  # lines not written, since the start

    def request_done(
        self,
        method: str,
        decision: Decision,
        backend: Backend,
        reason: Reason,
        status: int,
        seconds: float,
        request_id: bytes | None,
    ) -> None:
        """The gateway's observer hook (strangler.gateway.hooks): the request's line."""
        self.write(
            request_id or b"-",
            method,
            decision.endpoint,
            backend.value,
            reason.value,
            decision.bucket,
            decision.version,
            status,
            seconds,
        )

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
        if self._fd < 0:
            return  # closed: the gateway is shutting down
        middle = self._middles.get((method, endpoint, backend, reason))
        if middle is None:
            middle = self._middle(method, endpoint, backend, reason)
        line = (
            f'{{"ts":{time.time():.3f},"request_id":"{request_id.decode()}",{middle},'
            f'"bucket":{"null" if bucket is None else bucket},"flags":{version},'
            f'"status":{status},"ms":{seconds * 1000:.3f}}}\n'
        )
        if self._size + len(line) > BATCH:
            self.flush()
        self._lines.append(line)
        self._size += len(line)
        if self._pending is None:  # at most one timer a FLUSH_AFTER, never cancelled
            self._pending = asyncio.get_running_loop().call_later(FLUSH_AFTER, self._flush_due)

    def _middle(self, method: str, endpoint: str | None, backend: str, reason: str) -> str:
        if len(method) > 16:  # a client's own method: kept short, so lines stay whole
            method = method[:16] + "..."
        middle = (
            f'"method":{json.dumps(method)},"endpoint":{json.dumps(endpoint)},'
            f'"backend":"{backend}","reason":"{reason}"'
        )
        if len(self._middles) < 10_000:  # methods come from clients: bounded
            self._middles[(method, endpoint, backend, reason)] = middle
        return middle

    def _flush_due(self) -> None:
        self._pending = None
        self.flush()

    def flush(self) -> None:
        """Writes the lines gathered so far, in one write (whole lines, under PIPE_BUF)."""
        if not self._lines:
            return
        data = "".join(self._lines).encode()
        self._lines.clear()
        self._size = 0
        try:
            kept = self._write(data)
        except OSError as exc:  # a full disk or a closed pipe costs the log, never the request
            self._lost(data.count(b"\n"), exc)
            return
        if kept < len(data):
            self._lost(data.count(b"\n", kept), OSError("the disk took part of a write"))
        elif self.failed:
            self.failed = False
            log.warning(
                "the request log %s is written again (%d line(s) dropped so far)",
                self.target,
                self.dropped,
            )

    def _write(self, data: bytes) -> int:
        """Writes `data`; returns how many of its bytes (whole lines) the log now has."""
        written = os.write(self._fd, data)
        if not self._file:  # a pipe or a terminal: a write under PIPE_BUF is whole, else retried
            while written < len(data):
                written += os.write(self._fd, data[written:])
            return written
        if written == len(data):
            return written
        # A file whose disk filled up mid-write: its last line is torn. Cut it off, so the next
        # line written (once there is room) starts a line of its own. Another worker's write
        # cannot have landed after ours on a disk full to the byte; if one did, its bytes are
        # not ours to cut.
        whole = data.rfind(b"\n", 0, written) + 1
        with contextlib.suppress(OSError):  # the lines before it are in, whatever happens here
            end = os.lseek(self._fd, 0, os.SEEK_CUR)  # O_APPEND: just past our bytes
            if os.fstat(self._fd).st_size == end:
                os.ftruncate(self._fd, end - (written - whole))
        return whole

    def _lost(self, lines: int, exc: OSError) -> None:
        self.dropped += lines
        if not self.failed:
            log.error("the request log %s cannot be written: %s", self.target, exc)
            self.failed = True
        if self.on_drop is not None:
            self.on_drop(lines)

    def close(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        if self._fd < 0:
            return
        self.flush()
        if self._owned:
            os.close(self._fd)
        self._fd = -1
