"""Giving back to the system the memory a burst freed.

A burst of big request bodies (sixty 9 MB bodies at once) takes a worker from ~180 MB to ~750 MB;
once answered, Python frees every byte of it, yet the worker stays at ~350 MB: glibc keeps freed
memory in its arenas for the next allocation, and returns only what lies at the very top of a
heap. `malloc_trim(0)` hands every free page back (the same worker: 350 -> 177 MB, below where it
started, so nothing of it was still in use; `MALLOC_ARENA_MAX=2` kept more, 719 MB; figures from
`scripts/hostile --only memory`).

So a worker looks at its resident memory every few seconds and trims when it has moved by more
than GROWN bytes, either way, since just after its last trim: up, when a burst came and went
between two looks (or is under way); down, when a trim in the middle of a burst was followed by
the burst's end (what Python freed then is in glibc's arenas again). A worker whose memory is
really in use trims once and takes that as its level. A trim runs in this daemon thread (ctypes
lets go of the GIL) and costs ~0.1 ms with nothing to give back, ~80 ms to give back 400 MB in
64 KiB pieces, during which an allocation on the event loop may wait for an arena lock: once
after a burst, never per request. Where the C library is not glibc, nothing happens.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
from collections.abc import Callable

from strangler.serving.ticker import Ticker

log = logging.getLogger("strangler.serving")

EVERY = 5.0  # seconds between two looks
GROWN = 32 * 2**20  # bytes of change since the last trim that are worth another
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident() -> int | None:
    """This process's resident memory in bytes (Linux's /proc), or None where it cannot tell."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * PAGE
    except (OSError, ValueError, IndexError):
        return None


def glibc_trim() -> Callable[[], object] | None:
    """glibc's `malloc_trim(0)`, or None under another C library."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # musl, macOS: no malloc_trim
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return lambda: trim(0)


class MemoryTrimmer:
    """Trims the C heap when resident memory moved by more than `grown` bytes since the level
    it had just after the last trim (`look` is the tick; `start` runs it every `every`
    seconds)."""

    def __init__(
        self,
        every: float = EVERY,
        grown: int = GROWN,
        trim: Callable[[], object] | None = None,
        measure: Callable[[], int | None] = resident,
    ) -> None:
        self._trim = trim if trim is not None else glibc_trim()
        self._measure = measure
        self.grown = grown
        self.level = measure()  # what the worker is taken to need
        self.trims = 0
        self._ticker = Ticker("strangler-memory", every, self._look)

    def start(self) -> None:
        if self._trim is not None and self.level is not None:
            self._ticker.start()

    def stop(self) -> None:
        self._ticker.stop()

    def look(self) -> None:
        """Trims if memory moved past the level by more than `grown`; the level is then what the
        worker holds just after."""
        now = self._measure()
        if now is None or self._trim is None:
            return
        if self.level is None:
            self.level = now
        elif abs(now - self.level) > self.grown:
            self._trim()
            self.trims += 1
            after = self._measure()
            self.level = after if after is not None else now
            log.debug("memory trimmed: %d MiB -> %d MiB", now >> 20, self.level >> 20)

    def _look(self) -> None:
        try:
            self.look()
        except Exception:  # the next look tries again
            log.exception("could not look at the worker's memory")
