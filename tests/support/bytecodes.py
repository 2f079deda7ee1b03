"""Counts the Python bytecodes our own code runs: a cost figure that does not move with the
machine's load, for tests that hold the request path to a budget (issue #21).

Timing a few microseconds on a shared machine is noise; the number of bytecodes run in
`strangler/` for one request is the same on every run of the same Python (3.11 here; another
minor version counts a little differently), so a test can fail on a regression of a few percent.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from types import FrameType
from typing import Any

import strangler

LIBRARY = strangler.__path__[0]


async def bytecodes_per_call(
    call: Callable[[], Awaitable[Any]], times: int = 20, under: str = LIBRARY
) -> tuple[float, Counter[str]]:
    """Awaits `call()` once to warm up, then `times` times under a tracer; returns the
    bytecodes run per call in files under `under`, and their split by function
    (`module.py:Class.function`)."""
    await call()
    counts: Counter[str] = Counter()

    def trace(frame: FrameType, event: str, arg: Any) -> Callable[..., Any] | None:
        code = frame.f_code
        if not code.co_filename.startswith(under):
            return None  # not ours: neither its lines nor its bytecodes are counted
        frame.f_trace_opcodes = True
        if event == "opcode":
            counts[f"{code.co_filename.rsplit('/', 1)[-1]}:{code.co_qualname}"] += 1
        return trace

    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        for _ in range(times):
            await call()
    finally:
        sys.settrace(previous)
    return sum(counts.values()) / times, counts
