"""The legacy app's threads: a pool that grows while its threads wait, and shrinks back.

A WSGI app gets one thread per request in flight. How many threads pay off depends on what the
app does with them, which nobody should have to know to start the gateway:

- An app that computes (the worked example's model) gains nothing past a few threads: the GIL
  lets one run Python at a time, and more of them only time-slice one another, which stretches
  every request (16 threads double the p99 of 4 on one core; docs/performance.md).
- An app that waits (a database call of 20 ms) needs one thread per request in flight: four
  threads serve 200 req/s whatever the CPU could do.

The two look alike from inside a thread (waiting for the GIL and waiting for a socket are both
"not running"), but not from the process: threads that compute keep its CPU busy, threads that
wait leave it idle. So every TICK while it has work, the pool looks at the process's CPU time:

- requests waiting, the process's CPU busy less than GROW_BELOW of the time (one core is the
  ceiling: Python code runs one thread at a time) and the machine's CPUs idle for at least
  SPARE_CORES: threads are waiting, not computing; as many more as should bring the CPU to
  TARGET (no more than the jobs waiting, at most `maximum`). The last condition keeps a
  process that is short of CPU because others use it (`--workers 4` on two cores) from taking
  that for waiting;
- the process's CPU busy more than SHRINK_ABOVE of the time: it is the limit, not the threads; an
  eighth fewer per TICK (never under `minimum`), so a pool grown for a burst of waits gives the
  GIL back when the app starts computing;
- a thread that found no work for `idle_exit` seconds leaves (threads start again on demand).

On a machine whose CPUs other processes keep busy, the process cannot show more than its share
of a core, so a pool grown for waits shrinks back only as its threads go idle, not while they
compute (the CPU time alone cannot tell computing from being starved of the CPU).

A pool built with `minimum == maximum` never adapts: that is the `legacy_threads` setting.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import queue
import threading
import time
from collections.abc import Callable

from strangler.serving.cpu import CPUGauge

logger = logging.getLogger(__name__)

# Between two looks at the CPU while there is work: short enough to reach 64 threads from 4 in
# about 0.2 s, long enough for the CPU time over it to mean something (many requests).
TICK = 0.05
# The share of one core the pool aims for while jobs wait, and the band it holds still in:
# past SHRINK_ABOVE more threads only queue for the GIL (and stretch every request).
TARGET = 0.85
GROW_BELOW = 0.8
SHRINK_ABOVE = 0.95
SPARE_CORES = 0.1
IDLE_EXIT = 30.0

Job = Callable[[], None]


class LegacyPool:
    """Worker threads for the legacy app; `submit` is called on the event loop's thread."""

    def __init__(
        self,
        minimum: int,
        maximum: int,
        *,
        idle_exit: float = IDLE_EXIT,
        name: str = "legacy-wsgi",
        cpu: CPUGauge | None = None,
        idle_cpus: IdleCPUs | None = None,
    ) -> None:
        """`cpu` and `idle_cpus`: where the pool reads how busy the process is and how idle the
        machine (by default this process's CPU time and /proc/stat)."""
        if not 1 <= minimum <= maximum:
            raise ValueError(f"a pool of {minimum} to {maximum} threads: give 1 <= min <= max")
        self.minimum = minimum
        self.maximum = maximum
        self.limit = minimum  # threads allowed now; between minimum and maximum
        self.idle_exit = idle_exit
        self._name = name
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._alive = 0  # threads started and not exited
        # Threads that will ask for a job, minus jobs queued: negative, jobs no thread will take
        # yet. One count under one lock, so a job is never left waiting for a thread that is in
        # fact busy (counting idle threads and queued jobs apart leaves that gap).
        self._free = 0
        self._pending = 0  # jobs submitted and not finished
        self._serial = 0
        self._timer: asyncio.TimerHandle | None = None
        self._timer_loop: asyncio.AbstractEventLoop | None = None
        self._cpu = cpu or CPUGauge()
        self._idle_cpus = idle_cpus or IdleCPUs()

    @property
    def adaptive(self) -> bool:
        return self.minimum < self.maximum

    @property
    def threads(self) -> int:
        """Threads alive now (busy or idle)."""
        return self._alive

    def submit(self, job: Job, loop: asyncio.AbstractEventLoop) -> None:
        """Runs `job` (which must not raise) in a thread as soon as one is free."""
        with self._lock:
            self._pending += 1
            self._free -= 1
            start = self._free < 0 and self._alive < self.limit
            if start:
                self._alive += 1
                self._free += 1
        self._jobs.put(job)
        if start:
            self._start_thread()
        if self.adaptive and (self._timer is None or self._timer_loop is not loop):
            # Look at the CPU in a TICK, and every TICK while there is work. A timer left on
            # another loop (closed, in tests that make one per test) would never fire here.
            if self._timer is not None:
                self._timer.cancel()
            self._cpu.restart()  # the idle time before this work does not count
            self._timer_loop = loop
            self._timer = loop.call_later(TICK, self._adjust, loop)

    def shutdown(self) -> None:
        """Asks every thread to leave once the jobs queued before have run."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        with self._lock:
            leaving = self._alive
            self._free -= leaving
        for _ in range(leaving):
            self._jobs.put(None)

    # --- the controller, on the event loop ------------------------------------------------------

    def _adjust(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        busy = self._cpu.read()
        waiting = self._jobs.qsize()
        spare = self._idle_cpus.cores(time.monotonic()) if waiting and busy < GROW_BELOW else 0.0
        self.limit = next_limit(self.limit, busy, spare, waiting, self.minimum, self.maximum)
        with self._lock:
            starting = max(0, min(-self._free, self.limit - self._alive))
            self._alive += starting
            self._free += starting
        for _ in range(starting):
            self._start_thread()
        if self._pending:
            self._timer = loop.call_later(TICK, self._adjust, loop)

    def _start_thread(self) -> None:
        """Starts one thread, already counted in `_alive` and `_free`."""
        self._serial += 1
        thread = threading.Thread(
            target=self._work, name=f"{self._name}-{self._serial}", daemon=True
        )
        try:
            thread.start()
        except RuntimeError:  # "can't start new thread": the jobs wait for the threads there are
            logger.exception("could not start a legacy thread (%d alive)", self._alive)
            with self._lock:
                self._alive -= 1
                self._free -= 1

    # --- worker threads -----------------------------------------------------------------------

    def _work(self) -> None:
        # Daemon threads: a legacy request that never ends must not keep the process from exiting
        # (concurrent.futures joins its threads at exit, so one hung request hangs the shutdown).
        while True:
            try:
                job = self._jobs.get(timeout=self.idle_exit)
            except queue.Empty:
                # An idle thread leaves (and comes back on demand: a thread starts in ~0.1 ms),
                # so the threads of a bridge nobody calls any more do not stay forever.
                with self._lock:
                    if self._free > 0:
                        self._free -= 1
                        self._alive -= 1
                        return
                continue
            if job is None:
                with self._lock:
                    self._alive -= 1
                return
            try:
                job()
            except BaseException:  # a job should not raise; if one does, the thread goes on
                logger.exception("a legacy job raised")
            with self._lock:
                self._pending -= 1
                if self._alive > self.limit:  # the pool shrank while this thread worked
                    self._alive -= 1
                    return
                self._free += 1


def next_limit(
    limit: int, busy: float, spare: float, waiting: int, minimum: int, maximum: int
) -> int:
    """The pool's next thread limit, from the share of time the process's CPU was `busy` over the
    last TICK (1.0: one core all the time), the `spare` cores the machine left idle, and the
    jobs `waiting` for a thread."""
    if waiting and busy < GROW_BELOW and spare >= SPARE_CORES:
        # Threads that wait use CPU about in proportion to their number: aim for TARGET at once
        # (for no more work than waits) rather than by steps, which overshoot while the figures
        # of the step before still come in. More threads contend more, so it falls short and
        # gets there in a few TICKs.
        wanted = math.ceil(limit * TARGET / max(busy, 0.05))
        return min(maximum, limit + waiting, max(limit + 1, wanted))
    if busy > SHRINK_ABOVE:
        return max(minimum, limit - max(1, limit // 8))
    return limit


class IdleCPUs:
    """How many of the CPUs this process may run on sat idle lately, from Linux's /proc/stat.

    /proc/stat counts in clock ticks (10 ms), so a figure is taken over WINDOW at least and
    kept until the next one. Where /proc/stat cannot be read, the CPUs count as idle: the pool
    then grows on its own CPU time alone.
    """

    WINDOW = 0.1

    def __init__(self) -> None:
        self._last: tuple[float, int] | None = None  # (wall, idle ticks) of the last reading
        self._cores = float("inf")
        self._hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def cores(self, now: float) -> float:
        if self._last is not None and now - self._last[0] < self.WINDOW:
            return self._cores
        ticks = _idle_ticks()
        if ticks is None:
            return float("inf")
        if self._last is not None:
            self._cores = (ticks - self._last[1]) / self._hz / (now - self._last[0])
        else:
            self._cores = float("inf")  # nothing to compare with yet: the next reading decides
        self._last = (now, ticks)
        return self._cores


def _idle_ticks() -> int | None:
    """Idle and I/O-wait clock ticks so far, summed over the CPUs this process may use."""
    try:
        allowed = {f"cpu{n}" for n in os.sched_getaffinity(0)}
        with open("/proc/stat", "rb") as stat:
            lines = stat.read().decode("ascii").splitlines()
    except (AttributeError, OSError, UnicodeDecodeError):
        return None
    total = 0
    for line in lines:
        name, _, rest = line.partition(" ")
        if name in allowed:
            fields = rest.split()
            total += int(fields[3]) + int(fields[4])  # user nice system IDLE IOWAIT ...
    return total
