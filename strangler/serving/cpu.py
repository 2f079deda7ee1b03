"""How busy this process keeps its CPU: what the legacy pool and the shadow tap decide by.

Python code runs one thread at a time, so one core is the ceiling a gateway process is measured
against (or less, under a cgroup CPU quota).
"""

from __future__ import annotations

import time


def cpu_quota() -> float:
    """The CPUs this process's cgroup may use (cgroup v2 `cpu.max`), or infinity if unbounded.

    In a container limited to half a CPU, the process can never look busier than 0.5; measured
    against one core it would look idle.
    """
    try:
        with open("/sys/fs/cgroup/cpu.max") as limits:
            quota, period = limits.read().split()[:2]
        return float("inf") if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        return float("inf")


class CPUGauge:
    """The share of time the process's CPU was busy (1.0: its whole ceiling, all the time)."""

    def __init__(self, window: float = 0.1) -> None:
        self.window = window
        self._ceiling = min(1.0, cpu_quota())
        self._busy = 0.0
        self.restart()

    def restart(self) -> None:
        """Measures from now on (what came before, idle time say, does not count)."""
        self._since = (time.monotonic(), time.process_time())

    def read(self) -> float:
        """How busy since the last reading (or restart), and starts the next measure."""
        wall, cpu = time.monotonic(), time.process_time()
        self._busy = (cpu - self._since[1]) / max(wall - self._since[0], 1e-6) / self._ceiling
        self._since = (wall, cpu)
        return self._busy

    def busy(self) -> float:
        """The last figure, read again once `window` has passed since it was read."""
        if time.monotonic() - self._since[0] >= self.window:
            return self.read()
        return self._busy
