"""A daemon thread that calls one function every so many seconds until stopped: the metrics'
sync and the rollout conductor each run on one."""

from __future__ import annotations

import threading
from collections.abc import Callable


class Ticker:
    """Calls `tick` every `every` seconds in a daemon thread named `name`, from `start` until
    `stop`. `tick` must not raise (nothing would see it)."""

    def __init__(self, name: str, every: float, tick: Callable[[], None]) -> None:
        self.name = name
        self.every = every
        self._tick = tick
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self._tick()
