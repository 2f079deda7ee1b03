"""Waiting for something to have happened, instead of sleeping for a guessed time.

A test that sleeps "long enough" is slow when the guess is generous and flaky when the machine is
busy; these ask again and again, return as soon as the condition holds, and fail the test with a
message that names what never happened.

    wait_until(lambda: log.exists(), what="the log file")              # threads, processes
    await wait_until_async(lambda: app.calls, what="the app's call")   # on the test's loop
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T], *, within: float = 60.0, every: float = 0.01, what: str = ""
) -> T:
    """Calls `condition` every `every` seconds until it returns something true, and returns that;
    fails the test after `within` seconds (generous by default: a deadline costs nothing when
    the condition comes early, and on a machine with both cores busy it may come late)."""
    deadline = time.monotonic() + within
    while not (value := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"{what or 'the condition'} did not happen within {within} s")
        time.sleep(every)
    return value


async def wait_until_async(
    condition: Callable[[], T], *, within: float = 60.0, every: float = 0.001, what: str = ""
) -> T:
    """`wait_until` for a test on an event loop: the loop runs (its tasks, timers and threads'
    callbacks) between two looks. The deadline is the wall clock's, not the loop's, so a test
    that moves the loop's clock on by hand still fails in `within` real seconds."""
    deadline = time.monotonic() + within
    while not (value := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"{what or 'the condition'} did not happen within {within} s")
        await asyncio.sleep(every)
    return value
