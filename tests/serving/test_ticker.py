"""The ticker (strangler.serving.ticker): one function called every so often in a daemon thread."""

from __future__ import annotations

import threading

from strangler.serving.ticker import Ticker
from tests.support.waiting import wait_until


def threads_named(name: str) -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == name]


def test_a_ticker_calls_its_function_in_its_daemon_thread_until_stopped() -> None:
    """Started, the function is called again and again in a daemon thread of the ticker's name;
    stopped, that thread has ended, so no call comes after."""
    calls: list[threading.Thread] = []
    ticker = Ticker("test-ticker", 0.01, lambda: calls.append(threading.current_thread()))
    ticker.start()
    try:
        wait_until(lambda: len(calls) >= 3, what="three ticks")
    finally:
        ticker.stop()
    assert {thread.name for thread in calls} == {"test-ticker"}
    assert all(thread.daemon and not thread.is_alive() for thread in calls)


def test_the_first_call_waits_one_interval() -> None:
    """A ticker stopped before its first interval has passed never calls its function."""
    calls: list[int] = []
    ticker = Ticker("test-ticker-slow", 60.0, lambda: calls.append(1))
    ticker.start()
    ticker.stop()
    assert calls == []
    assert threads_named("test-ticker-slow") == []


def test_starting_twice_runs_one_thread_and_a_stopped_ticker_starts_again() -> None:
    """A second start while running adds no thread; after a stop, start calls the function anew."""
    calls: list[int] = []
    ticker = Ticker("test-ticker-twice", 0.01, lambda: calls.append(1))
    ticker.start()
    ticker.start()
    try:
        assert len(threads_named("test-ticker-twice")) == 1
    finally:
        ticker.stop()
    assert threads_named("test-ticker-twice") == []
    before = len(calls)
    ticker.start()
    try:
        wait_until(lambda: len(calls) > before, what="a tick after the restart")
    finally:
        ticker.stop()
